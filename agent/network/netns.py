"""Namespaces pinned by a bind mount, as ``ip netns add`` makes them, in any directory: a pod's
network namespace, and its UTS (hostname) and IPC namespaces, which its containers share too;
and sockets made inside such a namespace (``socket_in``).

A pod's namespace must outlive every process in it (between container restarts there is none)
and an agent restart, so it is held by a bind mount of its nsfs inode at ``DIR/NAME``. ``DIR``
stays a plain directory (``ip netns`` makes /run/netns a shared mount of its own; re-binding a
directory under a shared parent for every pod stacks propagated copies): the copies of the pin
that a runtime's new mount namespace inherits are dropped when it pivots into the container's
root, so nothing but the pin holds the namespace and ``remove_netns`` really ends it.

Creation runs ``unshare`` on a short-lived thread of its own (these namespaces belong to a
thread; the thread returns to the agent's namespaces and ends), never on the event loop's thread:
a fork of ``ip`` would cost milliseconds on the pod start path. All calls but ``socket_in`` block;
run them in a worker (``asyncio.to_thread``).

A socket belongs to the network namespace its creating thread was in when it was made, and keeps
it: ``socket_in`` makes one on a short-lived thread that enters the namespace (``setns``) and
then ends, so the event loop's thread and the worker pool never move. Entering needs
CAP_SYS_ADMIN (real agents run as root).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

CLONE_NEWNET = 0x40000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
# /proc/PID/ns names of the namespaces a pod shares, and their unshare flags.
KINDS = {"net": CLONE_NEWNET, "uts": CLONE_NEWUTS, "ipc": CLONE_NEWIPC}
MS_BIND = 4096
MNT_DETACH = 2
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(Exception):
    """A namespace could not be made or removed; one line naming the path."""


def _fail(what: str, path: Path) -> NetnsError:
    return NetnsError(f"cannot {what} {path}: {os.strerror(ctypes.get_errno())}")


def netns_exists(path: Path) -> bool:
    """True when a namespace is pinned at ``path``."""
    return os.path.ismount(path)


def create_netns(path: Path) -> None:
    """Pin a new, empty network namespace at ``path``. Idempotent: an existing pin is kept."""
    create_namespaces({"net": path})


def create_namespaces(pins: Mapping[str, Path]) -> None:
    """Pin one new namespace of each kind (a key of KINDS) at its path, all made by one unshare;
    a new network namespace has its ``lo`` up (what the CNI loopback plugin would do, without a
    process per pod). Idempotent: when every pin exists nothing is made; pins of a half-made set
    are replaced."""
    if all(netns_exists(path) for path in pins.values()):
        return
    for path in pins.values():
        remove_netns(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    failure: list[NetnsError] = []

    def in_own_thread() -> None:
        own = {kind: os.open(f"/proc/thread-self/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC) for kind in pins}
        try:
            flags = 0
            for kind in pins:
                flags |= KINDS[kind]
            if _libc.unshare(flags) != 0:
                failure.append(_fail("create the namespaces of", next(iter(pins.values()))))
                return
            for kind, path in pins.items():
                if _libc.mount(f"/proc/thread-self/ns/{kind}".encode(), str(path).encode(), None, MS_BIND, None) != 0:
                    failure.append(_fail(f"pin the {kind} namespace at", path))
            if "net" in pins:
                try:
                    _loopback_up()
                except OSError as err:
                    failure.append(NetnsError(f"cannot bring lo up in {pins['net']}: {err.strerror}"))
            for kind, fd in own.items():
                if _libc.setns(fd, KINDS[kind]) != 0:
                    failure.append(_fail(f"return from the {kind} namespace at", pins[kind]))
        finally:
            for fd in own.values():
                os.close(fd)

    thread = threading.Thread(target=in_own_thread, name="netns-create")
    thread.start()
    thread.join()
    if failure:
        for path in pins.values():
            remove_netns(path)
        raise failure[0]


def _loopback_up() -> None:
    """``lo`` up in the calling thread's network namespace (SIOCSIFFLAGS on a socket made there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = bytearray(struct.pack("16sh22x", b"lo", 0))
        fcntl.ioctl(sock, SIOCGIFFLAGS, request)
        flags = struct.unpack_from("h", request, 16)[0]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


def remove_netns(path: Path) -> None:
    """Unpin and delete ``path`` (any pinned namespace); the namespace ends when nothing else holds
    it. Absent is fine."""
    if _libc.umount2(str(path).encode(), MNT_DETACH) != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        raise _fail("unmount the namespace pinned at", path)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        raise NetnsError(f"cannot remove {path}: {err.strerror}") from None


def _made_in(netns: Path, make: Callable[[], socket.socket]) -> socket.socket:
    made: list[socket.socket | OSError] = []

    def in_own_thread() -> None:
        try:
            target = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(target, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"cannot enter the network namespace {netns}: "
                                  f"{os.strerror(ctypes.get_errno())}")
            finally:
                os.close(target)
            made.append(make())
        except OSError as err:
            made.append(err)

    thread = threading.Thread(target=in_own_thread, name="netns-socket", daemon=True)
    thread.start()  # it ends after make(): a thread left in another namespace is never reused
    thread.join()
    if isinstance(made[0], OSError):
        raise made[0]
    return made[0]


async def socket_in(netns: Path | None, make: Callable[[], socket.socket]) -> socket.socket:
    """``make()``'s socket, created in the network namespace at ``netns`` (a pin or
    ``/proc/PID/ns/net``; None: the agent's own). OSError when the namespace cannot be entered
    (gone, no privilege) or ``make`` fails."""
    if netns is None:
        return make()
    return await asyncio.to_thread(_made_in, netns, make)
