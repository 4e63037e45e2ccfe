"""Network namespaces pinned by a bind mount, as ``ip netns add`` makes them, in any directory.

A pod's namespace must outlive every process in it (between container restarts there is none)
and an agent restart, so it is held by a bind mount of its nsfs inode at ``DIR/NAME``. ``DIR``
is itself a shared bind mount (as ``ip netns`` makes /run/netns): the copies that containers'
mount namespaces inherit are then slaves, and unmounting the pin here unmounts them too, so the
namespace really ends with ``remove_netns`` and no copy keeps it alive.

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
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(Exception):
    """A namespace could not be made or removed; one line naming the path."""


def _fail(what: str, path: Path) -> NetnsError:
    return NetnsError(f"cannot {what} {path}: {os.strerror(ctypes.get_errno())}")


def ensure_shared_dir(directory: Path) -> None:
    """Make ``directory`` a shared bind mount of itself (idempotent)."""
    directory.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(directory):
        path = str(directory).encode()
        if _libc.mount(path, path, None, MS_BIND | MS_REC, None) != 0:
            raise _fail("bind-mount the namespace directory", directory)
    if _libc.mount(b"none", str(directory).encode(), None, MS_SHARED | MS_REC, None) != 0:
        raise _fail("share the namespace directory", directory)


def netns_exists(path: Path) -> bool:
    """True when a namespace is pinned at ``path``."""
    return os.path.ismount(path)


def create_netns(path: Path) -> None:
    """Pin a new, empty network namespace at ``path`` (its directory must be ready: see
    ``ensure_shared_dir``). Idempotent: an existing pin is kept."""
    if netns_exists(path):
        return
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
