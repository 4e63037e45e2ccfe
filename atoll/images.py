"""The node's local image store, shared by the OCI driver (which runs from it) and
`atoll image import` (which fills it on the node): ``IMAGE_DIR/NAME/TAG/rootfs`` plus ``image.json`` (entrypoint,
cmd, env, working dir). Pulling from registries is out of scope; images arrive by import:

- a rootfs directory, or a tarball of one (``docker export``), copied as is;
- an OCI image layout (directory or tarball with ``oci-layout`` and ``index.json``): the manifest
  for linux/amd64 is chosen, its layers applied in order (whiteouts honoured), its config kept.

Pure filesystem work with no agent dependency, so ``atoll image import`` can use it directly.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

IMAGE_CONFIG = "image.json"
ROOTFS = "rootfs"
DEFAULT_TAG = "latest"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


class ImageError(Exception):
    """A bad reference, an unknown image or an unreadable import source; one line for people."""


@dataclass(frozen=True)
class ImageConfig:
    """What an image says about how to run it (the OCI image config's fields we honour)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    working_dir: str = ""
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageConfig:
        return cls(
            entrypoint=tuple(data.get("entrypoint") or ()),
            cmd=tuple(data.get("cmd") or ()),
            env=tuple(data.get("env") or ()),
            working_dir=str(data.get("working_dir") or ""),
            source=str(data.get("source") or ""),
        )


@dataclass(frozen=True)
class Image:
    reference: str
    rootfs: Path
    config: ImageConfig = field(default_factory=ImageConfig)


def parse_reference(reference: str) -> tuple[str, str]:
    """``name[:tag]`` -> (name, tag); the tag defaults to latest. ImageError for digests, empty or
    path-escaping names."""
    text = reference.strip()
    if not text or "@" in text:
        raise ImageError(f"image reference {reference!r} is not NAME[:TAG] (digests are not supported)")
    name, _, tag = text.rpartition(":") if ":" in text.rsplit("/", 1)[-1] else (text, "", DEFAULT_TAG)
    parts = PurePosixPath(name).parts
    if not name or not tag or name.startswith("/") or any(part in ("..", ".") for part in parts) or "/" in tag:
        raise ImageError(f"image reference {reference!r} is not NAME[:TAG]")
    return name, tag


class ImageStore:
    """Images of one node under ``root``. Readers see an image either whole or not at all: imports
    are built beside the store and renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, reference: str) -> Path:
        name, tag = parse_reference(reference)
        return self.root / name / tag

    def resolve(self, reference: str) -> Image:
        """The image for ``reference``; ImageError naming the store when it is not there."""
        path = self.path_of(reference)
        rootfs = path / ROOTFS
        if not rootfs.is_dir():
            raise ImageError(
                f"image {reference!r} not found in {self.root}"
                " (import it with `atoll image import FILE --name NAME:TAG`)"
            )
        config_file = path / IMAGE_CONFIG
        config = ImageConfig.from_json(json.loads(config_file.read_text())) if config_file.exists() else ImageConfig()
        return Image(reference, rootfs, config)

    def references(self) -> list[str]:
        """Every stored reference as NAME:TAG, sorted."""
        found = []
        for rootfs in self.root.glob(f"**/{ROOTFS}"):
            tag_dir = rootfs.parent
            if tag_dir.parent != self.root and not tag_dir.name.startswith(".import-"):
                found.append(f"{tag_dir.parent.relative_to(self.root)}:{tag_dir.name}")
        return sorted(found)

    def import_path(self, source: Path, reference: str) -> Image:
        """Import ``source`` (rootfs dir, rootfs tarball, OCI layout dir or tarball) as ``reference``,
        replacing an image of the same name. ImageError when the source cannot be read."""
        target = self.path_of(reference)
        if not source.exists():
            raise ImageError(f"{source}: no such file or directory")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=self.root))
        try:
            config = _build(source, staging / ROOTFS)
            (staging / IMAGE_CONFIG).write_text(json.dumps(config.to_json(), indent=1))
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                retired = Path(tempfile.mkdtemp(prefix=".retired-", dir=self.root))
                target.rename(retired / "old")
                shutil.rmtree(retired, ignore_errors=True)
            staging.rename(target)
        except (OSError, tarfile.TarError, json.JSONDecodeError, KeyError, ValueError) as err:
            raise ImageError(f"cannot import {source}: {err}") from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return self.resolve(reference)


def _build(source: Path, rootfs: Path) -> ImageConfig:
    with _opened_layout(source) as layout:
        if layout is not None:
            return _apply_layout(layout, rootfs, str(source))
    if source.is_dir():
        shutil.copytree(source, rootfs, symlinks=True)
    else:
        rootfs.mkdir()
        _apply_layer(source, rootfs)
    return ImageConfig(source=str(source))


@contextmanager
def _opened_layout(source: Path) -> Iterator[Path | None]:
    """An OCI layout directory for ``source`` (unpacking a layout tarball), or None."""
    if source.is_dir():
        yield source if (source / "index.json").exists() and (source / "oci-layout").exists() else None
        return
    with tarfile.open(source, "r:*") as archive:
        names = {PurePosixPath(name).as_posix().lstrip("./") for name in archive.getnames()}
        if not {"index.json", "oci-layout"} <= names:
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="atoll-oci-") as unpacked:
            archive.extractall(unpacked, filter="data")
            yield Path(unpacked)


def _blob(layout: Path, digest: str) -> Path:
    algorithm, _, value = digest.partition(":")
    if not value or "/" in value or "/" in algorithm:
        raise ValueError(f"bad digest {digest!r}")
    return layout / "blobs" / algorithm / value


def _manifest(layout: Path, descriptor: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_blob(layout, descriptor["digest"]).read_text())
    if descriptor.get("mediaType") in INDEX_MEDIA_TYPES or "manifests" in document:
        return _manifest(layout, _pick(document["manifests"]))
    return document


def _pick(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    if not manifests:
        raise ValueError("the image index lists no manifests")
    for descriptor in manifests:
        platform = descriptor.get("platform") or {}
        if platform.get("os", "linux") == "linux" and platform.get("architecture", "amd64") == "amd64":
            return descriptor
    raise ValueError("the image has no linux/amd64 manifest")


def _apply_layout(layout: Path, rootfs: Path, source: str) -> ImageConfig:
    index = json.loads((layout / "index.json").read_text())
    manifest = _manifest(layout, _pick(index["manifests"]))
    rootfs.mkdir()
    for layer in manifest.get("layers", []):
        _apply_layer(_blob(layout, layer["digest"]), rootfs)
    config = json.loads(_blob(layout, manifest["config"]["digest"]).read_text()).get("config") or {}
    return ImageConfig(
        entrypoint=tuple(config.get("Entrypoint") or ()),
        cmd=tuple(config.get("Cmd") or ()),
        env=tuple(config.get("Env") or ()),
        working_dir=config.get("WorkingDir") or "",
        source=source,
    )


def _open_layer(path: Path) -> tarfile.TarFile:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == b"\x28\xb5\x2f\xfd":
        raise ValueError(f"layer {path.name} is zstd-compressed; only tar and tar+gzip layers are supported")
    return tarfile.open(path, "r:*")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _apply_layer(path: Path, rootfs: Path) -> None:
    """Apply one layer tarball onto ``rootfs``: whiteouts first (they hide lower layers only), then
    the layer's entries, each replacing what a lower layer had at its path."""
    with _open_layer(path) as layer:
        members = layer.getmembers()
        kept = []
        for member in members:
            relative = PurePosixPath(member.name.lstrip("/"))
            if any(part == ".." for part in relative.parts):
                raise ValueError(f"layer entry {member.name!r} escapes the root")
            base = relative.name
            if base == OPAQUE:
                directory = rootfs / relative.parent
                if directory.is_dir():
                    for child in directory.iterdir():
                        _remove(child)
            elif base.startswith(WHITEOUT):
                _remove(rootfs / relative.parent / base[len(WHITEOUT):])
            else:
                kept.append(member)
        for member in kept:
            target = rootfs / member.name.lstrip("/")
            if not (member.isdir() and target.is_dir() and not target.is_symlink()):
                _remove(target)
            layer.extract(member, rootfs, filter="tar", numeric_owner=True)


def default_image_dir(state_dir: Path) -> Path:
    """Where a node whose driver state lives in ``state_dir`` keeps its images."""
    return state_dir / "images"


def image_dir_for(data_dir: Path, node: str) -> Path:
    """The image dir of the real node ``node`` run from atoll's data dir (``atoll up --real``)."""
    return default_image_dir(node_state_dir(data_dir, node))


def node_state_dir(data_dir: Path, node: str) -> Path:
    """Where the real drivers of node ``node`` keep their state under atoll's data dir."""
    return data_dir / "nodes" / node

