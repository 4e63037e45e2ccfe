"""What the host's own network must never keep from a test: atoll's nftables table, the node
bridge, host-gw routes, a network namespace the test session made, or a thread of the test
process left in another network namespace.

Real-network tests build their nodes in namespaces of their own (tests/support/netns.py,
tests/e2e/network_lab.py) and remove them; a test that programs the host instead, or forgets a
namespace, is named by ``leaks_since`` right after it ran. What was there before a test (another
session's leftovers) is not blamed on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent.network.cni.conflist import DEFAULT_BRIDGE
from agent.network.proxy.ruleset import TABLE
from agent.network.routes import ROUTE_PROTOCOL
from tests.support.netns import NETNS_DIR, SESSION_TAG


@dataclass(frozen=True)
class HostNetwork:
    """The atoll-made parts of the host's network namespace at one moment."""

    table: bool
    bridge: bool
    routes: str
    namespaces: frozenset[str]
    stray_threads: tuple[str, ...]

    def leaks_since(self, before: HostNetwork) -> list[str]:
        """What is here now and was not ``before``, one line each."""
        leaks = []
        if self.table and not before.table:
            leaks.append(f"nftables `table ip {TABLE}` in the host")
        if self.bridge and not before.bridge:
            leaks.append(f"bridge {DEFAULT_BRIDGE} in the host")
        if self.routes and self.routes != before.routes:
            leaks.append(f"host-gw routes (proto {ROUTE_PROTOCOL}) in the host: {self.routes.strip()}")
        if extra := sorted(self.namespaces - before.namespaces):
            leaks.append(f"network namespaces left: {', '.join(extra)}")
        if self.stray_threads:
            leaks.append(f"threads of the test process in another network namespace: {', '.join(self.stray_threads)}")
        return leaks


def host_network() -> HostNetwork:
    """The host's state now, as seen from this process's main thread's namespace (without nft or
    ip installed, nothing of theirs can be there)."""
    table = shutil.which("nft") is not None and subprocess.run(
        ["nft", "list", "table", "ip", TABLE], capture_output=True, timeout=30).returncode == 0
    routes = subprocess.run(["ip", "route", "show", "proto", str(ROUTE_PROTOCOL)], capture_output=True, text=True,
                            timeout=30).stdout if shutil.which("ip") else ""
    names = os.listdir(NETNS_DIR) if NETNS_DIR.is_dir() else []
    return HostNetwork(table, Path("/sys/class/net", DEFAULT_BRIDGE).exists(), routes,
                       frozenset(name for name in names if SESSION_TAG in name), _stray_threads())


def _stray_threads() -> tuple[str, ...]:
    """Threads of this process whose network namespace is not the main thread's, as
    ``thread TID (COMM)``."""
    own = os.readlink(f"/proc/self/task/{os.getpid()}/ns/net")
    stray = []
    for task in os.listdir("/proc/self/task"):
        try:
            if os.readlink(f"/proc/self/task/{task}/ns/net") != own:
                stray.append(f"thread {task} ({Path(f'/proc/self/task/{task}/comm').read_text().strip()})")
        except OSError:  # the thread ended meanwhile
            continue
    return tuple(sorted(stray))
