"""Image references as Docker and the OCI distribution spec write them, normalised the way
Docker does: ``busybox`` is ``docker.io/library/busybox:latest``; the first component is a
registry only when it has a ``.`` or a ``:`` or is ``localhost``; ``NAME[:TAG][@DIGEST]``.

One parser for the scheduler (which asks registries what an image offers) and the agent (which
pulls it), so both name the same repository for the same text. Errors are ReferenceError, one
line with the text bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atoll.user_text import bounded_repr

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"  # where docker.io's distribution API answers
DEFAULT_TAG = "latest"
MAX_REFERENCE_CHARS = 512
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_REGISTRY = re.compile(_DOMAIN)
_TAG = re.compile(r"\w[\w.-]{0,127}")
# The distribution spec's digest grammar, with sha256/sha512 held to their lengths.
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}")


class ReferenceError(ValueError):
    """Text that is not an image reference; one line naming it (bounded)."""


@dataclass(frozen=True, slots=True, order=True)
class ImageReference:
    """A normalised reference. ``tag`` is empty only when a digest is given without a tag."""

    registry: str
    repository: str
    tag: str = DEFAULT_TAG
    digest: str = ""

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        return f"{text}@{self.digest}" if self.digest else text

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def manifest_reference(self) -> str:
        """What to ask the registry's manifests endpoint for: the digest when pinned, else the tag."""
        return self.digest or self.tag

    @property
    def api_host(self) -> str:
        """The host[:port] that serves this registry's /v2/ API."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def registry_host(self) -> str:
        """The registry's host without its port (for matching configured registry names)."""
        return self.registry.rsplit(":", 1)[0] if ":" in self.registry else self.registry

    def with_digest(self, digest: str) -> ImageReference:
        return ImageReference(self.registry, self.repository, self.tag, digest)


def parse_image_reference(text: str) -> ImageReference:
    """``text`` normalised (module docstring); ReferenceError for anything else."""
    if len(text) > MAX_REFERENCE_CHARS or not text or text != text.strip():
        raise ReferenceError(f"image reference {bounded_repr(text)} is not [REGISTRY/]NAME[:TAG][@DIGEST]")
    remainder, _, digest = text.partition("@")
    if "@" in text and not _DIGEST.fullmatch(digest):
        raise ReferenceError(
            f"image reference {bounded_repr(text)}: the digest must be sha256:<64 hex> or sha512:<128 hex>"
        )
    first, slash, rest = remainder.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, remainder
    name, tag = path, ""
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = path.rpartition(":")
    if not tag and not digest:
        tag = DEFAULT_TAG
    if registry == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"
    if not _REGISTRY.fullmatch(registry) or not _REPOSITORY.fullmatch(name) or (tag and not _TAG.fullmatch(tag)):
        raise ReferenceError(
            f"image reference {bounded_repr(text)} is not [REGISTRY/]NAME[:TAG][@DIGEST]"
            " (lowercase name components such as team/app; a tag of letters, digits, '.', '_' and '-')"
        )
    return ImageReference(registry, name, tag, digest)
