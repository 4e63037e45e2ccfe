"""The node's local image store, shared by the OCI driver (which runs from it) and
`atoll image import` (which fills it on the node): ``IMAGE_DIR/NAME/TAG/rootfs`` plus ``image.json`` (entrypoint,
cmd, env, working dir, digest). Images arrive by import or by a pull on the node:

- a rootfs directory, or a tarball of one (``docker export``), copied as is;
- an OCI image layout (directory or tarball with ``oci-layout`` and ``index.json``): the manifest
  for linux/amd64 is chosen, its layers applied in order (whiteouts honoured), its config kept;
- a pull (agent/images/node_images.py): skopeo's layout of one platform, imported the same way
  with its registry digest kept (``ImageConfig.digest``).

Archives are hostile input: ``image_layout`` reads a layout with bounds and type checks, and
``image_layers`` applies tar layers without the host ever following a link an archive made;
``UnpackLimits`` bounds layers, entries and bytes. References are the OCI grammar, so a name
is always a path below the store.

Pure filesystem work with no agent dependency, so ``atoll image import`` can use it directly.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import lzma
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from atoll.image_layers import LayerError, UnpackBudget, UnpackLimits, apply_layer, open_layer
from atoll.image_layout import LayoutError, is_layout, read_layout
from atoll.user_text import bounded, bounded_repr

IMAGE_CONFIG = "image.json"
ROOTFS = "rootfs"
DEFAULT_TAG = "latest"
MAX_NAME_CHARS = 255
STAGING_PREFIX = ".import-"
RETIRED_PREFIX = ".retired-"
LOCK_FILE = ".lock"
ERROR_CHARS = 1000  # an import error names at most two entries, each bounded
# The OCI distribution spec's reference grammar: [domain[:port]/]component(/component)*, :tag.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?"
_NAME = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"\w[\w.-]{0,127}")


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
    # The registry digest it was pulled by (agent/images); "" for an imported image.
    digest: str = ""

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
            digest=str(data.get("digest") or ""),
        )


@dataclass(frozen=True)
class Image:
    reference: str
    rootfs: Path
    config: ImageConfig = field(default_factory=ImageConfig)


def parse_reference(reference: str) -> tuple[str, str]:
    """``name[:tag]`` -> (name, tag); the tag defaults to latest. Names and tags follow the OCI
    distribution grammar, so every reference is a path below the store (no ``..``, no leading
    dot, no absolute path). ImageError (bounded) for anything else, digests included."""
    text = reference.strip()
    name, _, tag = text.rpartition(":") if ":" in text.rsplit("/", 1)[-1] else (text, "", DEFAULT_TAG)
    if "@" in text:
        raise ImageError(
            f"image reference {bounded_repr(reference)} is not NAME[:TAG] (digests are not supported)"
        )
    if len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name) or not _TAG.fullmatch(tag):
        raise ImageError(
            f"image reference {bounded_repr(reference)} is not NAME[:TAG]"
            " (lowercase name components such as team/app, a tag of letters, digits, '.', '_' and '-')"
        )
    return name, tag


class ImageStore:
    """Images of one node under ``root``. Readers see an image either whole or not at all: imports
    are built beside the store and renamed into place."""

    def __init__(self, root: Path, limits: UnpackLimits | None = None) -> None:
        self.root = root
        self.limits = limits or UnpackLimits()

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
        """Every stored reference as NAME:TAG, sorted. Walks the store without entering an image's
        rootfs (whose symlinks point wherever its archive said)."""
        found = []
        for directory, subdirectories, files in os.walk(self.root):
            subdirectories[:] = sorted(name for name in subdirectories if name != ROOTFS and not name.startswith("."))
            tag_dir = Path(directory)
            if IMAGE_CONFIG in files and tag_dir.parent != self.root and tag_dir != self.root:
                found.append(f"{tag_dir.parent.relative_to(self.root)}:{tag_dir.name}")
        return sorted(found)

    def import_path(self, source: Path, reference: str, *, digest: str = "", blob_dir: Path | None = None) -> Image:
        """Import ``source`` (rootfs dir, rootfs tarball, OCI layout dir or tarball) as ``reference``,
        replacing an image of the same name. Nothing outside the store is written or removed,
        whatever the archive holds (atoll/image_layers.py); ImageError, one bounded line, when the
        source cannot be read safely or exceeds ``self.limits``. A failed import leaves the store
        as it was. ``digest``: the registry digest a pull fetched it by (kept in image.json);
        ``blob_dir``: where a layout's blobs are when shared (skopeo's --dest-shared-blob-dir)."""
        target = self.path_of(reference)
        shown = bounded(str(source))
        if not source.exists():
            raise ImageError(f"{shown}: no such file or directory")
        self.root.mkdir(parents=True, exist_ok=True)
        with _import_lock(self.root):
            _remove_leftovers(self.root)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
            try:
                config = replace(_build(source, staging / ROOTFS, UnpackBudget(self.limits), blob_dir), digest=digest)
                (staging / IMAGE_CONFIG).write_text(json.dumps(config.to_json(), indent=1))
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    retired = Path(tempfile.mkdtemp(prefix=RETIRED_PREFIX, dir=self.root))
                    target.rename(retired / "old")
                    shutil.rmtree(retired, ignore_errors=True)
                staging.rename(target)
            except (OSError, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, ValueError) as err:
                raise ImageError(f"cannot import {shown}: {bounded(_error_text(err), ERROR_CHARS)}") from None
            finally:
                if staging.exists():
                    shutil.rmtree(staging, ignore_errors=True)
        return self.resolve(reference)


    def remove(self, reference: str) -> bool:
        """Remove the image ``reference`` (whole: renamed aside under the import lock, then deleted,
        so a reader never sees half of it); False when there was none."""
        target = self.path_of(reference)
        if not (target / IMAGE_CONFIG).exists() and not (target / ROOTFS).exists():
            return False
        with _import_lock(self.root):
            retired = Path(tempfile.mkdtemp(prefix=RETIRED_PREFIX, dir=self.root))
            target.rename(retired / "old")
            shutil.rmtree(retired, ignore_errors=True)
        return True

    def image_bytes(self, reference: str) -> int:
        """Bytes of the files of image ``reference`` (symlinks not followed)."""
        total = 0
        for directory, _, files in os.walk(self.path_of(reference)):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(directory, name)).st_size
        return total


@contextmanager
def _import_lock(root: Path) -> Iterator[None]:
    """One import at a time per store (an flock, released by the kernel when a process dies), so
    that staging directories found while holding it belong to no running import."""
    with (root / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


def _remove_leftovers(root: Path) -> None:
    """Staging and retired directories of imports that were killed (kill -9, power loss)."""
    for entry in root.iterdir():
        if entry.name.startswith((STAGING_PREFIX, RETIRED_PREFIX)) and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def _error_text(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {bounded_repr(str(err.filename))}" if err.filename else err.strerror
    return str(err) or type(err).__name__


def _build(source: Path, rootfs: Path, budget: UnpackBudget, blob_dir: Path | None = None) -> ImageConfig:
    with _opened_layout(source, budget) as layout:
        if layout is not None:
            return _apply_layout(layout, rootfs, str(source), budget, blob_dir)
    if source.is_dir():
        shutil.copytree(source, rootfs, symlinks=True)
    else:
        rootfs.mkdir()
        with open_layer(source) as layer:
            apply_layer(layer, rootfs, budget)
    return ImageConfig(source=str(source))


@contextmanager
def _opened_layout(source: Path, budget: UnpackBudget) -> Iterator[Path | None]:
    """An OCI layout directory for ``source`` (unpacking a layout tarball, within ``budget``), or None."""
    if source.is_dir():
        yield source if is_layout(source) else None
        return
    with open_layer(source) as archive:
        listing = UnpackBudget(budget.limits)  # listing a bomb must stop at the limits too
        names = set()
        for member in archive:
            listing.take_entry(member.name)
            listing.take_bytes(member.size if member.isreg() else 0, member.name)
            names.add("/".join(part for part in member.name.split("/") if part not in ("", ".")))
        if not {"index.json", "oci-layout"} <= names:
            yield None
            return
        for member in archive.getmembers():
            budget.take_entry(member.name)
            budget.take_bytes(member.size, member.name)
        with tempfile.TemporaryDirectory(prefix="atoll-oci-") as unpacked:
            # A fresh private directory: the data filter's checks cannot be raced there.
            archive.extractall(unpacked, filter="data")
            yield Path(unpacked)


def _apply_layout(
    layout: Path, rootfs: Path, source: str, budget: UnpackBudget, blob_dir: Path | None = None
) -> ImageConfig:
    image = read_layout(layout, budget.limits.max_layers, blob_dir)
    rootfs.mkdir()
    for number, blob in enumerate(image.layers, start=1):
        try:
            with open_layer(blob) as layer:
                apply_layer(layer, rootfs, budget)
        except FileNotFoundError:
            raise LayoutError(f"layer {number} ({blob.name}) is missing from the layout") from None
        except (LayerError, tarfile.TarError) as err:
            raise LayerError(f"layer {number}: {err}") from None
    config = image.config
    return ImageConfig(
        entrypoint=_strings(config, "Entrypoint"),
        cmd=_strings(config, "Cmd"),
        env=_strings(config, "Env"),
        working_dir=_string(config, "WorkingDir"),
        source=source,
    )


def _strings(config: dict[str, Any], key: str) -> tuple[str, ...]:
    value = config.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LayoutError(f"the image config's {key} is not a list of strings")
    return tuple(value)


def _string(config: dict[str, Any], key: str) -> str:
    value = config.get(key) or ""
    if not isinstance(value, str):
        raise LayoutError(f"the image config's {key} is not a string")
    return value


def default_image_dir(state_dir: Path) -> Path:
    """Where a node whose driver state lives in ``state_dir`` keeps its images."""
    return state_dir / "images"


def image_dir_for(data_dir: Path, node: str) -> Path:
    """The image dir of the real node ``node`` run from atoll's data dir (``atoll up --real``)."""
    return default_image_dir(node_state_dir(data_dir, node))


def node_state_dir(data_dir: Path, node: str) -> Path:
    """Where the real drivers of node ``node`` keep their state under atoll's data dir."""
    return data_dir / "nodes" / node

