"""Reading an OCI image layout (``oci-layout``, ``index.json``, ``blobs/ALG/HEX``) that came from
someone else: every document is size-bounded JSON whose fields are type-checked, digests name
files inside ``blobs/`` only, index nesting and the layer count are bounded. Errors are
``LayoutError`` (a ValueError): one line, with any text from the layout bounded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atoll.user_text import bounded_repr

INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024  # registries refuse manifests over 4 MiB too
MAX_INDEX_DEPTH = 4  # index -> index -> manifest is already unusual
# The OCI image spec's digest grammar (algorithm ":" encoded).
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


class LayoutError(ValueError):
    """An OCI layout that cannot be read; one line for people."""


@dataclass(frozen=True)
class LayoutImage:
    """The linux/amd64 image of a layout: its layer blobs, bottom first, and its config's
    ``config`` object (Entrypoint, Cmd, Env, WorkingDir)."""

    layers: tuple[Path, ...]
    config: dict[str, Any]


def is_layout(directory: Path) -> bool:
    return (directory / "index.json").is_file() and (directory / "oci-layout").is_file()


def read_layout(layout: Path, max_layers: int, blobs: Path | None = None) -> LayoutImage:
    """The linux/amd64 image of ``layout``; LayoutError when the layout is malformed, has no such
    image or more than ``max_layers`` layers. ``blobs``: where its blobs are when not in
    ``layout/blobs`` (a directory shared by several layouts, skopeo's ``--dest-shared-blob-dir``)."""
    blobs = blobs or layout / "blobs"
    index = _document(layout / "index.json", "index.json")
    manifest = _manifest(blobs, _pick(_list(index, "manifests", "index.json")), depth=1)
    layers = _list(manifest, "layers", "the manifest", required=False)
    if len(layers) > max_layers:
        raise LayoutError(f"the image has {len(layers)} layers; at most {max_layers} are supported")
    config_descriptor = _object(manifest.get("config"), "the manifest's config")
    config = _document(blob_path(blobs, config_descriptor), "the image config").get("config") or {}
    if not isinstance(config, dict):
        raise LayoutError("the image config's config is not an object")
    return LayoutImage(tuple(blob_path(blobs, _object(layer, "a layer")) for layer in layers), config)


def blob_path(blobs: Path, descriptor: dict[str, Any]) -> Path:
    """The file of ``descriptor``'s digest under ``blobs`` (a layout's ``blobs`` directory);
    LayoutError for a bad digest."""
    digest = descriptor.get("digest")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        shown = bounded_repr(digest) if isinstance(digest, str) else type(digest).__name__
        raise LayoutError(f"bad digest {shown}")
    algorithm, _, value = digest.partition(":")
    return blobs / algorithm / value


def _manifest(blobs: Path, descriptor: dict[str, Any], depth: int) -> dict[str, Any]:
    document = _document(blob_path(blobs, descriptor), "a manifest")
    if descriptor.get("mediaType") in INDEX_MEDIA_TYPES or "manifests" in document:
        if depth >= MAX_INDEX_DEPTH:
            raise LayoutError(f"image indexes nest deeper than {MAX_INDEX_DEPTH}")
        return _manifest(blobs, _pick(_list(document, "manifests", "an image index")), depth + 1)
    return document


def _pick(manifests: list[Any]) -> dict[str, Any]:
    if not manifests:
        raise LayoutError("the image index lists no manifests")
    for item in manifests:
        descriptor = _object(item, "a manifest descriptor")
        platform = descriptor.get("platform") or {}
        if isinstance(platform, dict) and (platform.get("os", "linux"), platform.get("architecture", "amd64")) == (
            "linux", "amd64"
        ):
            return descriptor
    raise LayoutError("the image has no linux/amd64 manifest")


def _document(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``, at most MAX_DOCUMENT_BYTES."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError:
        raise LayoutError(f"{what} ({path.name}) is missing from the layout") from None
    except IsADirectoryError:
        raise LayoutError(f"{what} ({path.name}) is a directory") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise LayoutError(f"{what} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise LayoutError(f"{what} is not valid JSON") from None
    return _object(document, what)


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LayoutError(f"{what} is not a JSON object")
    return value


def _list(document: dict[str, Any], key: str, what: str, required: bool = True) -> list[Any]:
    value = document.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise LayoutError(f"{what} has no {key} list")
    return value
