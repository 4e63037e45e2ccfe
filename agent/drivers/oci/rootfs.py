"""A container's root filesystem: an overlay of the image (read-only lower layer) and a per-task
upper directory, so containers never change the image and start without copying it.

Mounting uses the mount(2) syscall directly (a fork of mount(8) would cost milliseconds on the
start path). A read-only root skips the overlay: the runtime mounts the image itself read-only.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


class RootfsError(Exception):
    """The overlay could not be mounted; one line naming the directory."""


def is_mounted(path: Path) -> bool:
    return os.path.ismount(path)


def mount_overlay(lower: Path, upper: Path, work: Path, target: Path) -> None:
    """Mount an overlay of ``lower`` + ``upper`` at ``target`` (idempotent when already mounted)."""
    for directory in (upper, work, target):
        directory.mkdir(parents=True, exist_ok=True)
    if is_mounted(target):
        return
    options = f"lowerdir={_escaped(lower)},upperdir={_escaped(upper)},workdir={_escaped(work)}".encode()
    if _libc.mount(b"overlay", str(target).encode(), b"overlay", 0, options) != 0:
        code = ctypes.get_errno()
        raise RootfsError(f"cannot mount the overlay root at {target}: {os.strerror(code)}")


def _escaped(path: Path) -> str:
    """``path`` as an overlay option value: ',' separates options and ':' lower layers, so an image
    stored under a name with a registry port (``registry:5000/app``) or a data dir with a comma
    would otherwise name other directories; overlayfs unescapes backslashes."""
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")


def unmount(target: Path) -> None:
    """Detach whatever is mounted at ``target``; nothing mounted is fine."""
    if _libc.umount2(str(target).encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):
            raise RootfsError(f"cannot unmount {target}: {os.strerror(code)}")
