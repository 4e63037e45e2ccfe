"""A volume's data on this node: a directory (Filesystem) or one sparse file (Block), made on
first use so that a crash at any moment leaves either nothing or the whole thing (made under a
temporary name in the same directory, then renamed into place), and removed with the volume.

Paths come from atoll.storage's rule: one file name inside the node's local volume dir or the
shared dir, checked again here, so no volume object reaches outside those two directories.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from atoll import storage

TEMP_PREFIX = ".tmp-"


class VolumePathError(ValueError):
    """A volume's path that is not one file name inside its volume directory."""


def volume_path(directory: Path, name: str) -> Path:
    """``directory/name``; VolumePathError when ``name`` is not one plain file name."""
    problem = storage.volume_path_problem(name)
    if problem:
        raise VolumePathError(f"volume path {name[:64]!r}: {problem}")
    return directory / name


def ensure_volume(path: Path, block: bool, size: int) -> Path:
    """The volume at ``path``, made when missing: a directory, or (``block``) a sparse file of
    ``size`` bytes. Idempotent; safe against a concurrent maker (the loser finds it made)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.parent / f"{TEMP_PREFIX}{path.name}.{uuid.uuid4().hex[:8]}"
    try:
        if block:
            with open(temp, "xb") as file:
                file.truncate(size)
                file.flush()
                os.fsync(file.fileno())
        else:
            temp.mkdir(mode=0o755)
        try:
            os.rename(temp, path)
        except OSError:
            if not path.exists():
                raise
    finally:
        _remove(temp)
    return path


def remove_volume(path: Path) -> None:
    """Remove the volume's data (a directory tree or a file); nothing when already gone. Renamed
    aside first, so a crash midway never leaves a half-removed volume under its own name."""
    if not path.exists() and not path.is_symlink():
        return
    doomed = path.parent / f"{TEMP_PREFIX}{path.name}.{uuid.uuid4().hex[:8]}"
    os.rename(path, doomed)
    _remove(doomed)


def sweep_temporaries(directory: Path) -> None:
    """Remove what an interrupted ensure/remove left (``.tmp-*``); run when the agent starts."""
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.name.startswith(TEMP_PREFIX):
                _remove(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
