"""Kubelet's atomic writer: a volume directory whose files change all at once.

Layout (``DIR`` is the volume)::

    DIR/..2026_12_03_22_40_01.123456789/   the files of one version (key files, sub-directories)
    DIR/..data -> ..2026_12_03_...          the current version
    DIR/KEY -> ..data/KEY                    one link per top-level name of the payload

An update writes a new version directory, points ``..data_tmp`` at it and renames that over
``..data`` (one atomic rename: a reader sees the old set of files or the new one, never a mix),
then adds or removes top-level links and deletes the old version. A payload equal to the current
version writes nothing. Interrupted at any point (kill -9), the next ``write`` finishes the job:
versions ``..data`` does not point at are deleted, a stale ``..data_tmp`` is replaced.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

DATA_LINK = "..data"
_TMP_LINK = "..data_tmp"
# path inside the volume -> (content, mode)
Payload = Mapping[str, tuple[bytes, int]]


def write(directory: Path, payload: Payload) -> bool:
    """Makes ``directory`` show exactly ``payload``; True when anything changed. Paths are
    relative, validated by the API (no ``..``, none starting with ``..``)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    current = _current_version(directory)
    changed = current is None or _read(current) != dict(payload)
    if changed:
        now = time.time_ns()
        stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime(now // 1_000_000_000))
        version = directory / f"..{stamp}.{now % 1_000_000_000:09d}"
        version.mkdir(mode=0o755)
        version.chmod(0o755)
        for relative, (content, mode) in payload.items():
            target = version / relative
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            target.write_bytes(content)
            target.chmod(mode)
        tmp_link = directory / _TMP_LINK
        tmp_link.unlink(missing_ok=True)
        tmp_link.symlink_to(version.name)
        os.replace(tmp_link, directory / DATA_LINK)
        current = version
    _link_top_level(directory, {relative.split("/", 1)[0] for relative in payload})
    _remove_old_versions(directory, current)
    return changed


def files(directory: Path) -> dict[str, bytes]:
    """What the volume shows now (path -> content), read through ``..data``; {} when empty."""
    current = _current_version(directory)
    return {} if current is None else {path: content for path, (content, _) in _read(current).items()}


def _current_version(directory: Path) -> Path | None:
    link = directory / DATA_LINK
    if not link.is_symlink():
        return None
    target = directory / os.readlink(link)
    return target if target.is_dir() else None


def _read(version: Path) -> dict[str, tuple[bytes, int]]:
    found: dict[str, tuple[bytes, int]] = {}
    for path in version.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found[path.relative_to(version).as_posix()] = (path.read_bytes(), path.stat().st_mode & 0o777)
    return found


def _link_top_level(directory: Path, names: set[str]) -> None:
    for entry in directory.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.is_symlink() and entry.name not in names:
            entry.unlink()
    for name in names:
        link = directory / name
        if not link.is_symlink():
            link.symlink_to(f"{DATA_LINK}/{name}")


def _remove_old_versions(directory: Path, current: Path | None) -> None:
    for entry in directory.iterdir():
        if entry.name.startswith("..") and entry.name != DATA_LINK and entry != current:
            if entry.is_symlink() or entry.is_file():
                entry.unlink()
            else:
                shutil.rmtree(entry, ignore_errors=True)
