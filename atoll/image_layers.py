"""Applying image layers (tar streams) onto a rootfs without ever letting the host follow a link
that an archive made.

An archive is hostile input: ``x -> /etc`` followed by ``x/passwd``, a whiteout ``x/.wh.passwd``
in a later layer, a hard link to ``/etc/shadow``, ``../`` names, device nodes, a gzip bomb.
Every path is therefore walked one component at a time from a file descriptor of the rootfs
(``openat`` with ``O_NOFOLLOW``): a symlink met on the way is read and interpreted *inside* the
rootfs, as the container will see it (an absolute target starts again at the rootfs, ``..`` stops
at it), the way containerd and umoci (securejoin) resolve image paths. No check-then-use on a
path string, so nothing can be swapped between a check and the write (no TOCTOU).

What an entry becomes (the standard library's "tar" filter semantics, applied through the walk):
- names: a leading ``/`` is dropped; a ``..`` component is refused;
- regular files, directories, symlinks (targets kept verbatim: only the container resolves them),
  hard links (to a file already in the rootfs, found by the same walk); an entry replaces
  whatever a lower layer had at its path (a directory stays when the entry is a directory);
- modes lose setuid/setgid/sticky and group/other write (``mode & 0o755``); owners are kept
  (numerically) when running as root; device nodes and FIFOs are skipped (the runtime makes
  ``/dev``); other entry types are refused;
- whiteouts ``.wh.NAME`` and ``.wh..wh..opq`` hide what lower layers had, never entries of the
  same layer (they are applied first);
- ``UnpackLimits`` bounds layers, entries and bytes written, so a bomb ends with one line.

Errors are ``LayerError`` (a ValueError): one line naming the layer entry, bounded.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import lzma
import os
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from atoll.user_text import bounded_repr

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
MAX_LINK_HOPS = 40  # as the kernel's MAXSYMLINKS
# tarfile reads a pax or GNU long-name header whole, in one read: bigger ones are refused before
# they are allocated (real ones are a few hundred bytes).
MAX_HEADER_READ = 1024 * 1024
# Decompressing readers by magic number; open_layer closes them.
_DECOMPRESSORS: dict[bytes, Callable[[BinaryIO], io.BufferedIOBase]] = {
    b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    b"BZh": lambda raw: bz2.BZ2File(raw),
    b"\xfd7zXZ": lambda raw: lzma.LZMAFile(raw),  # noqa: SIM115
}
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_COPY_CHUNK = 1024 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SKIPPED_TYPES = (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)


class LayerError(ValueError):
    """A layer that cannot be applied safely or within the limits; one line for people."""


@dataclass(frozen=True)
class UnpackLimits:
    """Bounds of one image import: ``max_layers`` (overlayfs stacks at most 128 lower layers),
    ``max_entries`` over all layers, ``max_bytes`` of file content written over all layers."""

    max_layers: int = 128
    max_entries: int = 500_000
    max_bytes: int = 32 * 1024**3


@dataclass
class UnpackBudget:
    """What an import has used so far of its ``UnpackLimits``."""

    limits: UnpackLimits = field(default_factory=UnpackLimits)
    entries: int = 0
    bytes_written: int = 0

    def take_entry(self, name: str) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise LayerError(f"more than {self.limits.max_entries} entries (at {bounded_repr(name)})")

    def take_bytes(self, size: int, name: str) -> None:
        if self.bytes_written + size > self.limits.max_bytes:
            raise LayerError(
                f"{bounded_repr(name)} ({size} bytes) would exceed the import limit of"
                f" {self.limits.max_bytes} bytes"
            )
        self.bytes_written += size


def entry_parts(name: str) -> list[str]:
    """The components of a tar entry name inside the rootfs; LayerError for a ``..`` component."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise LayerError(f"entry {bounded_repr(name)} has a '..' component")
    return parts


@contextmanager
def open_layer(path: Path) -> Iterator[tarfile.TarFile]:
    """``path`` as a tar archive: plain, gzip, bzip2 or xz (zstd is refused with a reason), read
    through ``_BoundedReads`` so that no header is read into memory whole beyond MAX_HEADER_READ."""
    with path.open("rb") as raw:
        magic = raw.read(6)
        raw.seek(0)
        if magic.startswith(_ZSTD_MAGIC):
            raise LayerError(f"layer {path.name} is zstd-compressed; only tar, tar+gzip, bzip2 and xz are supported")
        decompressor = next((kind for prefix, kind in _DECOMPRESSORS.items() if magic.startswith(prefix)), None)
        stream: BinaryIO | io.BufferedIOBase = decompressor(raw) if decompressor else raw
        with stream, tarfile.open(fileobj=_BoundedReads(stream), mode="r:") as layer:
            yield layer


class _BoundedReads(io.RawIOBase):
    """A seekable reader over ``stream`` that refuses a single read bigger than MAX_HEADER_READ."""

    def __init__(self, stream: BinaryIO | io.BufferedIOBase) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > MAX_HEADER_READ:
            raise LayerError(f"a tar header asks for {size} bytes at once (at most {MAX_HEADER_READ})")
        return self._stream.read(size)

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


def apply_layer(layer: tarfile.TarFile, rootfs: Path, budget: UnpackBudget) -> None:
    """Apply one layer onto ``rootfs`` (which must exist): whiteouts first, then every entry in
    archive order, directory modes and times last. Raises LayerError (or OSError, tarfile.TarError
    for an unreadable archive); what was applied before the error stays, so callers unpack into
    a staging directory. Sizes are charged to ``budget`` while the archive is listed, before the
    data of a too big entry is decompressed."""
    root_fd = os.open(rootfs, _DIR_FLAGS)
    try:
        members = []
        for member in layer:
            budget.take_entry(member.name)
            if member.isreg():
                budget.take_bytes(member.size, member.name)
            members.append(member)
        kept = [member for member in members if not _whiteout(root_fd, member)]
        directories = [member for member in kept if _extract(layer, root_fd, member)]
        for member in reversed(directories):
            _finish_directory(root_fd, member)
    finally:
        os.close(root_fd)


def _whiteout(root_fd: int, member: tarfile.TarInfo) -> bool:
    """Apply ``member`` if it is a whiteout (True), else False."""
    parts = entry_parts(member.name)
    if not parts or not parts[-1].startswith(WHITEOUT):
        return False
    try:
        with _directory(root_fd, parts[:-1], member.name, create=False) as parent:
            if parts[-1] == OPAQUE:
                for child in os.listdir(parent):
                    _remove(parent, child)
            elif (hidden := parts[-1][len(WHITEOUT):]) not in ("", ".", ".."):
                _remove(parent, hidden)
    except FileNotFoundError:
        pass  # nothing below to hide
    return True


def _extract(layer: tarfile.TarFile, root_fd: int, member: tarfile.TarInfo) -> bool:
    """Create ``member`` in the rootfs; True when it is a directory whose mode is set later."""
    parts = entry_parts(member.name)
    if not parts:
        return False  # the rootfs itself
    if member.type in _SKIPPED_TYPES:
        return False
    with _directory(root_fd, parts[:-1], member.name, create=True) as parent:
        name = parts[-1]
        if member.isdir():
            if not _is_directory(parent, name):
                _remove(parent, name)
                os.mkdir(name, 0o700, dir_fd=parent)
            return True
        _remove(parent, name)
        if member.issym():
            os.symlink(member.linkname, name, dir_fd=parent)
        elif member.islnk():
            _hard_link(root_fd, member, parent, name)
            return False
        elif member.isreg():
            _write_file(layer, member, parent, name)
            return False
        else:
            raise LayerError(f"entry {bounded_repr(member.name)} has unsupported type {member.type!r}")
        _set_owner(parent, name, member)
    return False


def _write_file(layer: tarfile.TarFile, member: tarfile.TarInfo, parent: int, name: str) -> None:
    source = layer.extractfile(member)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent)
    try:
        if source is not None:
            with source:
                while chunk := source.read(_COPY_CHUNK):
                    os.write(fd, chunk)
        _set_attributes(fd, member)
    finally:
        os.close(fd)


def _hard_link(root_fd: int, member: tarfile.TarInfo, parent: int, name: str) -> None:
    """A hard link to an entry already in the rootfs, found by the same walk (never outside it)."""
    target = entry_parts(member.linkname)
    if not target:
        raise LayerError(f"hard link {bounded_repr(member.name)} points at the rootfs itself")
    try:
        with _directory(root_fd, target[:-1], member.linkname, create=False) as target_parent:
            if _is_directory(target_parent, target[-1]):
                raise LayerError(f"hard link {bounded_repr(member.name)} points at a directory")
            os.link(target[-1], name, src_dir_fd=target_parent, dst_dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        raise LayerError(
            f"hard link {bounded_repr(member.name)} points at {bounded_repr(member.linkname)},"
            " which the image does not have"
        ) from None


def _finish_directory(root_fd: int, member: tarfile.TarInfo) -> None:
    """Mode, owner and times of a directory entry, unless a later entry replaced it."""
    parts = entry_parts(member.name)
    try:
        with _directory(root_fd, parts[:-1], member.name, create=False) as parent:
            fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
    except (FileNotFoundError, NotADirectoryError, LayerError):
        return
    except OSError as err:
        if err.errno == errno.ELOOP:
            return
        raise
    try:
        _set_attributes(fd, member)
    finally:
        os.close(fd)


def _set_attributes(fd: int, member: tarfile.TarInfo) -> None:
    """Mode (less setuid, setgid, sticky and group/other write), owner when root, and mtime."""
    os.fchmod(fd, member.mode & 0o755)
    if os.geteuid() == 0:
        os.fchown(fd, member.uid, member.gid)
    os.utime(fd, (member.mtime, member.mtime))


def _set_owner(parent: int, name: str, member: tarfile.TarInfo) -> None:
    if os.geteuid() == 0:
        os.chown(name, member.uid, member.gid, dir_fd=parent, follow_symlinks=False)


def _is_directory(parent: int, name: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _remove(parent: int, name: str) -> None:
    """Remove ``name`` in ``parent`` whatever it is (a directory with everything below it, without
    following links); nothing when it is absent."""
    try:
        if _is_directory(parent, name):
            shutil.rmtree(name, dir_fd=parent)
        else:
            os.unlink(name, dir_fd=parent)
    except FileNotFoundError:
        pass


@contextmanager
def _directory(root_fd: int, parts: list[str], entry: str, create: bool) -> Iterator[int]:
    """A descriptor of the directory at ``parts`` under the rootfs, walked component by component
    without the kernel following any link: symlinks are read and resolved inside the rootfs.
    Missing directories are made when ``create``, else FileNotFoundError."""
    stack = [os.dup(root_fd)]  # the directories from the rootfs down to the current one
    pending = list(parts)
    hops = 0
    try:
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            try:
                mode = os.stat(part, dir_fd=stack[-1], follow_symlinks=False).st_mode
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=stack[-1])
                mode = stat.S_IFDIR
            if stat.S_ISLNK(mode):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise LayerError(f"entry {bounded_repr(entry)}: more than {MAX_LINK_HOPS} symlinks on its path")
                target = os.readlink(part, dir_fd=stack[-1])
                if target.startswith("/"):
                    for fd in stack[1:]:
                        os.close(fd)
                    del stack[1:]
                pending[:0] = target.split("/")
                continue
            try:
                stack.append(os.open(part, _DIR_FLAGS, dir_fd=stack[-1]))
            except OSError as err:
                if err.errno not in (errno.ENOTDIR, errno.ELOOP):
                    raise
                if not create:
                    raise FileNotFoundError(errno.ENOENT, "not a directory", part) from None
                raise LayerError(f"entry {bounded_repr(entry)}: {bounded_repr(part)} is not a directory") from None
        yield stack[-1]
    finally:
        for fd in stack:
            os.close(fd)
