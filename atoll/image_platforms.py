"""The platforms an image offers, read from its OCI image index (or Docker manifest list) or,
for a single-platform image, from its config; and the rule for which node runs which platform.

Shared by the scheduler (places by it) and the agent (pulls the platform of its node). The
documents come from registries, so they are hostile input: sizes are bounded by the caller,
every field read is type-checked and bounded here, and a document that breaks the rules is a
PlatformError (one line) rather than a guess.

Names follow the OCI image spec: ``os`` (linux, windows), ``architecture`` (GOARCH: amd64,
arm64, arm, 386, ppc64le, s390x, riscv64), ``variant`` (arm: v6/v7, arm64: v8), ``os.version``
(Windows: 10.0.BUILD.REVISION). Index entries whose platform is ``unknown/unknown`` are
BuildKit's attestation manifests, not runnable images, and are skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from atoll.user_text import bounded_repr
from atoll.windows import BuildError, WindowsBuild, parse_build

INDEX_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
MANIFEST_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)
MAX_INDEX_ENTRIES = 256  # Docker Hub's largest official indexes list a few dozen
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
_OS_VERSION = re.compile(r"[0-9][0-9.]{0,31}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}")
# What Go and `uname -m` call the same CPU; nodes report GOARCH names, normalised here.
ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm", "i386": "386"}
# The variant an image without one is built for, and the one a node without one runs.
DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}


class PlatformError(ValueError):
    """A manifest, index or config that cannot be read as the OCI spec says; one line."""


@dataclass(frozen=True, slots=True, order=True)
class Platform:
    """One platform of an image; ``os_version`` is set for Windows images that state it."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")
        return f"{text} ({self.os_version})" if self.os_version else text

    @property
    def windows_build(self) -> WindowsBuild | None:
        """The Windows build of ``os_version``; None when absent or not 10.0.B[.R]."""
        if self.os != "windows" or not self.os_version:
            return None
        try:
            return parse_build(self.os_version)
        except BuildError:
            return None


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """An index entry: the manifest's digest, and the platform it is for."""

    digest: str
    platform: Platform


def normalize_architecture(name: str) -> str:
    """``x86_64`` -> ``amd64``, ``aarch64`` -> ``arm64``; GOARCH names unchanged."""
    return ARCH_ALIASES.get(name, name)


def variant_matches(image_variant: str, node_arch: str, node_variant: str) -> bool:
    """An image variant runs on a node: no variant in the image, or the same one (a node or an
    image without a variant means the architecture's default, arm64 = v8)."""
    if not image_variant:
        return True
    return image_variant == (node_variant or DEFAULT_VARIANTS.get(node_arch, ""))


def runs_on(image: Platform, node: Platform) -> bool:
    """A node of platform ``node`` (os, architecture, variant) runs an image of platform ``image``
    (Windows builds aside: atoll/windows.py). The scheduler applies the same rule to whole node
    columns (scheduler/plugins/image_platform.py); the agent re-checks with this one."""
    return (image.os, image.architecture) == (node.os, node.architecture) and variant_matches(
        image.variant, node.architecture, node.variant
    )


def parse_document(data: bytes, what: str) -> dict[str, Any]:
    """A JSON object from ``data`` (already size-bounded by the caller); PlatformError otherwise."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise PlatformError(f"{what} is not valid JSON") from None
    if not isinstance(document, dict):
        raise PlatformError(f"{what} is not a JSON object")
    return document


def is_index(document: dict[str, Any], media_type: str = "") -> bool:
    """An image index (or manifest list), by its mediaType (the document's or the response's)."""
    declared = document.get("mediaType", media_type)
    return declared in INDEX_MEDIA_TYPES or (not declared and "manifests" in document)


def index_entries(document: dict[str, Any]) -> tuple[ManifestEntry, ...]:
    """The runnable entries of an image index, in its order (attestations skipped)."""
    manifests = document.get("manifests")
    if not isinstance(manifests, list):
        raise PlatformError("the image index has no manifests list")
    if len(manifests) > MAX_INDEX_ENTRIES:
        raise PlatformError(f"the image index lists {len(manifests)} manifests; at most {MAX_INDEX_ENTRIES} are read")
    entries = []
    for number, item in enumerate(manifests):
        if not isinstance(item, dict):
            raise PlatformError(f"manifests[{number}] of the image index is not an object")
        platform = item.get("platform")
        if platform is None:
            continue  # nested indexes and artifacts without a platform are not images to run
        if not isinstance(platform, dict):
            raise PlatformError(f"manifests[{number}].platform of the image index is not an object")
        parsed = platform_of(platform, f"manifests[{number}].platform")
        if parsed.os == "unknown" or parsed.architecture == "unknown":
            continue
        entries.append(ManifestEntry(digest_of(item, f"manifests[{number}]"), parsed))
    if not entries:
        raise PlatformError("the image index lists no runnable platform")
    return tuple(entries)


def config_digest(manifest: dict[str, Any]) -> str:
    """The config blob's digest of an image manifest."""
    config = manifest.get("config")
    if not isinstance(config, dict):
        raise PlatformError("the image manifest has no config descriptor")
    return digest_of(config, "the manifest's config")


def config_platform(config: dict[str, Any]) -> Platform:
    """The platform an image config states (``os``, ``architecture``, ``variant``, ``os.version``)."""
    return platform_of(config, "the image config")


def platform_of(fields: dict[str, Any], where: str) -> Platform:
    os_name = _name(fields.get("os"), f"{where}.os")
    architecture = normalize_architecture(_name(fields.get("architecture"), f"{where}.architecture"))
    variant = fields.get("variant") or ""
    if variant:
        variant = _name(variant, f"{where}.variant")
    version = fields.get("os.version") or ""
    if version and (not isinstance(version, str) or not _OS_VERSION.fullmatch(version)):
        raise PlatformError(f"{where}.os.version {_shown(version)} is not a version such as 10.0.20348.2113")
    return Platform(os_name, architecture, variant, version)


def digest_of(descriptor: dict[str, Any], where: str) -> str:
    digest = descriptor.get("digest")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise PlatformError(f"{where}.digest {_shown(digest)} is not sha256:<64 hex> or sha512:<128 hex>")
    return digest


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise PlatformError(f"{where} {_shown(value)} is not a platform name such as linux or amd64")
    return value


def _shown(value: Any) -> str:
    return bounded_repr(value) if isinstance(value, str) else f"of type {type(value).__name__}"
