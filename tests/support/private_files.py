"""Checks that what atoll wrote under a directory is private to its user (atoll.private_files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

# Image and container filesystems keep the modes their image gives them (a 0755 /bin/sh): they are
# the workload's content, not atoll's, and sit inside private directories.
CONTENT_DIRS = frozenset({"rootfs", "upper", "work", "merged", "layers"})
# Pinned namespaces (network, UTS, IPC: agent/network/netns.py) are nsfs inodes the kernel shows as 0444 and
# no chmod changes; their directory is private, so only it is checked.
PINNED_NAMESPACE_DIRS = frozenset({"netns", "uts", "ipc"})


def readable_by_others(root: Path) -> list[str]:
    """Every directory, file and socket under ``root`` (itself included) with a group or other
    permission bit, as "MODE PATH"; image and container filesystems are not entered."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [name for name in subdirs if name not in CONTENT_DIRS]
        pinned = Path(directory).name in PINNED_NAMESPACE_DIRS
        for path in (Path(directory), *(() if pinned else (Path(directory) / name for name in files))):
            info = path.lstat()
            if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
                found.append(f"{stat.S_IMODE(info.st_mode):o} {path}")
    return sorted(set(found))
