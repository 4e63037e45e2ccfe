"""The host side of VM networking, through iproute2: the node's pod bridge and one tap per VM.

The bridge is the one the CNI bridge plugin makes for pods (same name, gateway = the first
address of the node's pod CIDR on it); whichever of pods or VMs comes first creates it, the other
finds it. Taps are persistent (``ip tuntap add``) so that QEMU only opens them: creating, attaching
and deleting them stays here, and a tap never outlives its VM's task directory unnoticed (the
driver sweeps its prefix at start). Every call is idempotent.

``NodeLinks(netns)`` works in the network namespace pinned at ``netns`` (the node's pod network,
``atoll up --node-netns``) through ``nsenter --net``, or in the agent's own when None.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from pathlib import Path

from agent.drivers.proc import run_command
from agent.drivers.protocol import StartError

IP = "ip"
GONE = ("Cannot find device", "does not exist")
EXISTS = ("File exists", "already assigned")


class LinkError(StartError):
    """An iproute2 command failed; the message is its own error line."""


def in_netns(netns: Path | None) -> list[str]:
    """The command prefix that runs a program in the namespace pinned at ``netns`` (none: here)."""
    return ["nsenter", f"--net={netns}", "--"] if netns is not None else []


class NodeLinks:
    def __init__(self, netns: Path | None = None) -> None:
        self.netns = netns

    async def _ip(self, *args: str, tolerate: Sequence[str] = ()) -> str:
        try:
            done = await run_command([*in_netns(self.netns), IP, *args], timeout=15)
        except (OSError, TimeoutError) as err:
            raise LinkError(f"ip {' '.join(args)}: {err}") from None
        if done.returncode != 0:
            if any(text in done.stderr for text in tolerate):
                return ""
            raise LinkError(f"ip {' '.join(args)}: {done.error_line}")
        return done.stdout

    async def ensure_bridge(self, bridge: str, pod_cidr: str) -> str:
        """``bridge`` exists, is up and holds the gateway address (first host of ``pod_cidr``) as
        the CNI bridge plugin's ``isGateway`` gives it; returns the gateway address."""
        network = ipaddress.IPv4Network(pod_cidr)
        gateway = f"{network.network_address + 1}/{network.prefixlen}"
        await self._ip("link", "add", bridge, "type", "bridge", tolerate=EXISTS)
        await self._ip("addr", "add", gateway, "dev", bridge, tolerate=EXISTS)
        await self._ip("link", "set", bridge, "up")
        return gateway.partition("/")[0]

    async def create_tap(self, tap: str, bridge: str) -> None:
        """A fresh persistent tap ``tap`` attached to ``bridge`` and up (an older one of that name,
        left by a crash, is replaced)."""
        await self.delete_tap(tap)
        await self._ip("tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr")
        await self._ip("link", "set", tap, "master", bridge, "up")

    async def delete_tap(self, tap: str) -> None:
        """Remove ``tap``; a tap that is not there is fine."""
        await self._ip("link", "del", tap, tolerate=GONE)

    async def taps_on(self, bridge: str, prefix: str) -> list[str]:
        """The taps named ``prefix...`` attached to ``bridge`` or to no bridge (another node's agent
        sharing this network namespace has its own bridge, and its taps are left alone)."""
        parsed = json.loads(await self._ip("-j", "link", "show", "type", "tun") or "[]")
        return [
            str(link["ifname"]) for link in parsed
            if isinstance(link, dict) and str(link.get("ifname", "")).startswith(prefix)
            and link.get("master", bridge) == bridge
        ]
