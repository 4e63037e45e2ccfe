"""A directory tree for image-import tests: ``outside/`` (what an archive must never touch: a
directory with a file and a secret) beside the store's parent, and the store under test."""

from __future__ import annotations

import os
from pathlib import Path

from atoll.image_layers import UnpackLimits
from atoll.images import LOCK_FILE, ImageError, ImageStore

REFERENCE = "hostile"


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path below ``root`` (links not followed) with its type, mode and content or target."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories + files:
            path = Path(directory) / name
            info = path.lstat()
            if path.is_symlink():
                found[str(path)] = ("link", os.readlink(path))
            elif path.is_dir():
                found[str(path)] = ("dir", info.st_mode, info.st_mtime_ns)
            else:
                found[str(path)] = ("file", info.st_mode, info.st_nlink, path.read_bytes())
    return found


class World:
    def __init__(self, root: Path, limits: UnpackLimits | None = None) -> None:
        self.outside = root / "outside"
        (self.outside / "dir").mkdir(parents=True)
        (self.outside / "dir" / "file").write_text("keep me\n")
        (self.outside / "secret").write_text("secret\n")
        self.home = root / "home"  # the store's parent: siblings of the store must not change either
        (self.home / "sibling").mkdir(parents=True)
        self.store = ImageStore(self.home / "images", limits)
        self._before = {**snapshot(self.outside), **snapshot(self.home / "sibling")}

    def import_(self, source: Path) -> str | None:
        """None when ``source`` imported as REFERENCE; else the ImageError's text."""
        try:
            self.store.import_path(source, REFERENCE)
        except ImageError as err:
            return str(err)
        return None

    def outside_unchanged(self) -> bool:
        return {**snapshot(self.outside), **snapshot(self.home / "sibling")} == self._before

    def store_is_clean(self) -> bool:
        """No staging or retired directories were left in the store."""
        return not any(name.startswith(".") and name != LOCK_FILE for name in os.listdir(self.store.root))
