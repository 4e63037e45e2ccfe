"""A network namespace of the test's own, so that bridges, veths, addresses and iptables rules
that CNI plugins make never touch the host's interfaces: ``ip netns add`` before, ``ip netns
del`` after (which takes every interface and rule in it along). ``entered`` moves the calling
thread (the test's event loop thread, whose forks the plugins are) into it and back."""

from __future__ import annotations

import ctypes
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
_libc = ctypes.CDLL(None, use_errno=True)


@contextmanager
def scratch_netns(prefix: str = "atoll-t") -> Iterator[str]:
    """A fresh named namespace with loopback up; deleted afterwards."""
    name = f"{prefix}-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


@contextmanager
def entered(name: str) -> Iterator[None]:
    """This thread (and the processes it starts) in namespace ``name`` until the block ends."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(str(NETNS_DIR / name))
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "cannot return to the test's own network namespace")
    finally:
        os.close(own)


def run_in(netns: Path | str, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    """``argv`` inside the namespace pinned at ``netns`` (a path, or a name under /run/netns)."""
    path = netns if isinstance(netns, Path) else NETNS_DIR / netns
    return subprocess.run(["nsenter", f"--net={path}", *argv], capture_output=True, text=True, timeout=timeout)
