"""A network namespace of the test's own, so that bridges, veths, addresses and iptables rules
that CNI plugins make never touch the host's interfaces: ``ip netns add`` before, ``ip netns
del`` after (which takes every interface and rule in it along). The agent runs its plugins
there (``CniInvoker(node_netns=...)``); ``run_in`` runs a test's own checks there."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NETNS_DIR = Path("/run/netns")
# In the name of every namespace a test of this process makes (here and tests/e2e/network_lab.py),
# so that one left behind is told apart from other test sessions' on the same host
# (tests/support/host_network.py).
SESSION_TAG = f"t{os.getpid()}"


@contextmanager
def scratch_netns(prefix: str = "atoll") -> Iterator[str]:
    """A fresh named namespace with loopback up; deleted afterwards."""
    name = f"{prefix}-{SESSION_TAG}-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def run_in(netns: Path | str, *argv: str, timeout: float = 10,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``argv`` inside the namespace pinned at ``netns`` (a path, or a name under /run/netns)."""
    path = netns if isinstance(netns, Path) else NETNS_DIR / netns
    return subprocess.run(["nsenter", f"--net={path}", *argv], capture_output=True, text=True, timeout=timeout,
                          input=stdin)
