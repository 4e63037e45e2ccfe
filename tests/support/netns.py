"""A network namespace of the test's own, so that bridges, veths, addresses and iptables rules
that CNI plugins make never touch the host's interfaces: ``ip netns add`` before, ``ip netns
del`` after (which takes every interface and rule in it along). The agent runs its plugins
there (``CniInvoker(node_netns=...)``); ``run_in`` runs a test's own checks there."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NETNS_DIR = Path("/run/netns")


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


def run_in(netns: Path | str, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    """``argv`` inside the namespace pinned at ``netns`` (a path, or a name under /run/netns)."""
    path = netns if isinstance(netns, Path) else NETNS_DIR / netns
    return subprocess.run(["nsenter", f"--net={path}", *argv], capture_output=True, text=True, timeout=timeout)
