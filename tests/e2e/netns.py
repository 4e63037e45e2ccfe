"""A network namespace a test makes, enters and removes, so that bridges, taps and addresses of
the real network tests never touch the host's own network.

``entered_netns`` moves the calling thread (the test's event loop thread) into a fresh named
namespace (``ip netns add``) and back out at the end: every process the test starts from that
thread (QEMU, iproute2, CNI plugins, an agent child) runs inside it, and so do the test's own
sockets. Only use it in tests that open no connections to servers outside it (no gRPC cluster).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import uuid
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@contextlib.contextmanager
def entered_netns() -> Iterator[str]:
    """Yields the namespace's name while the calling thread is inside it; loopback is up."""
    name = f"atoll-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
            yield name
        finally:
            _setns(original)
    finally:
        os.close(original)
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)

