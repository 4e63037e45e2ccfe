"""What a container asks of the node's images and what it gets back (the ImagePuller ability's
types, agent/drivers/abilities.py), and how pulled images are named in the node's store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from atoll.image_reference import ImageReference
from atoll.image_registry import Credentials


@dataclass(frozen=True)
class PullRequest:
    """What a container asks for: its image as written, its imagePullPolicy ("" = default), and
    credentials by registry from the pod's imagePullSecrets."""

    image: str
    policy: str = ""
    credentials: Mapping[str, Credentials] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ImageReady:
    """The image to run: ``reference`` is what the driver resolves in its store; ``image_id``
    ``REPOSITORY@DIGEST`` ("" for an imported image); ``pulled``: downloaded for this request
    (``seconds`` it took)."""

    reference: str
    image_id: str
    pulled: bool = False
    seconds: float = 0.0


class PullError(Exception):
    """No image to run; ``reason`` is ErrImagePull, ErrImageNeverPull or InvalidImageName."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def store_reference(image: ImageReference) -> str:
    """Where a pulled ``image`` lives in the store: ``NAME:TAG``, or ``NAME:sha256-HEX`` when pinned."""
    return f"{image.name}:{image.digest.replace(':', '-')}" if image.digest else f"{image.name}:{image.tag}"


def image_id(image: ImageReference, digest: str) -> str:
    return f"{image.name}@{digest}" if digest else ""
