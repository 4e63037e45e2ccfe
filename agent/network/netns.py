"""Network namespaces pinned by a bind mount, as ``ip netns add`` makes them, in any directory.

A pod's namespace must outlive every process in it (between container restarts there is none)
and an agent restart, so it is held by a bind mount of its nsfs inode at ``DIR/NAME``. ``DIR``
stays a plain directory (``ip netns`` makes /run/netns a shared mount of its own; re-binding a
directory under a shared parent for every pod stacks propagated copies): the copies of the pin
that a runtime's new mount namespace inherits are dropped when it pivots into the container's
root, so nothing but the pin holds the namespace and ``remove_netns`` really ends it.

Creation runs ``unshare(CLONE_NEWNET)`` on a short-lived thread of its own (a namespace belongs
to a thread; the thread returns to the agent's namespace and ends), never on the event loop's
thread: a fork of ``ip`` would cost milliseconds on the pod start path. All calls block; run
them in a worker (``asyncio.to_thread``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from pathlib import Path

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2
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
    if netns_exists(path):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    failure: list[NetnsError] = []

    def in_own_thread() -> None:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                failure.append(_fail("create a network namespace for", path))
                return
            if _libc.mount(b"/proc/thread-self/ns/net", str(path).encode(), None, MS_BIND, None) != 0:
                failure.append(_fail("pin the network namespace at", path))
            if _libc.setns(own, CLONE_NEWNET) != 0:
                failure.append(_fail("return from the network namespace at", path))
        finally:
            os.close(own)

    thread = threading.Thread(target=in_own_thread, name="netns-create")
    thread.start()
    thread.join()
    if failure:
        remove_netns(path)
        raise failure[0]


def remove_netns(path: Path) -> None:
    """Unpin and delete ``path``; the namespace ends when nothing else holds it. Absent is fine."""
    if _libc.umount2(str(path).encode(), MNT_DETACH) != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        raise _fail("unmount the network namespace at", path)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        raise NetnsError(f"cannot remove {path}: {err.strerror}") from None
