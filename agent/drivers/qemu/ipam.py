"""A VM's address from the node's pod address pool: the CNI ``host-local`` IPAM plugin, called as
a CNI runtime calls it (ADD/DEL, network config on stdin, CNI_* environment).

Pods take their addresses from the same plugin with the same network name and data dir, so pods
and VMs of one node share one pool and never get the same address. host-local keeps one file per
address (``DATA_DIR/NETWORK/IP``, holding the container id): it survives agent restarts, and DEL
is idempotent. ADD twice for one container id is refused by the plugin ("duplicate allocation"),
so a caller that may have crashed after an ADD calls DEL first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agent.drivers.proc import run_command
from agent.drivers.protocol import StartError
from atoll.user_text import bounded

CNI_VERSION = "1.0.0"
PLUGIN = "host-local"
TIMEOUT = 30.0


class IpamError(StartError):
    """The plugin failed or could not be run; the message carries its own error text."""


@dataclass(frozen=True)
class Lease:
    address: str  # IP/prefix
    gateway: str


@dataclass(frozen=True)
class HostLocalIpam:
    """``network``: the CNI network name (the pods' conflist name); ``data_dir``: host-local's
    ``dataDir``; ``plugin_dirs``: where to find the plugin (CNI_PATH)."""

    network: str
    data_dir: Path
    plugin_dirs: tuple[Path, ...]

    def plugin(self) -> Path:
        for directory in self.plugin_dirs:
            candidate = directory / PLUGIN
            if candidate.is_file():
                return candidate
        dirs = ", ".join(str(d) for d in self.plugin_dirs)
        raise IpamError(f"CNI plugin {PLUGIN} not found in {dirs}: install containernetworking-plugins")

    def _config(self, subnet: str) -> bytes:
        ipam = {"type": PLUGIN, "ranges": [[{"subnet": subnet}]], "dataDir": str(self.data_dir)}
        return json.dumps({"cniVersion": CNI_VERSION, "name": self.network, "ipam": ipam}).encode()

    async def _call(self, command: str, subnet: str, container_id: str, ifname: str) -> str:
        env = {
            "CNI_COMMAND": command, "CNI_CONTAINERID": container_id, "CNI_IFNAME": ifname,
            "CNI_NETNS": "/proc/self/ns/net", "CNI_PATH": ":".join(str(d) for d in self.plugin_dirs),
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        }
        try:
            done = await run_command([str(self.plugin())], env=env, stdin=self._config(subnet), timeout=TIMEOUT)
        except (OSError, TimeoutError) as err:
            raise IpamError(f"{PLUGIN} {command}: {err}") from None
        if done.returncode != 0:
            raise IpamError(f"{PLUGIN} {command} for {container_id}: {_error_text(done.stdout) or done.error_line}")
        return done.stdout

    async def add(self, subnet: str, container_id: str, ifname: str) -> Lease:
        """A free address of ``subnet`` now held by ``container_id``; IpamError when none is free,
        the id holds one already, or the plugin fails."""
        output = await self._call("ADD", subnet, container_id, ifname)
        try:
            first = json.loads(output)["ips"][0]
            return Lease(str(first["address"]), str(first.get("gateway", "")))
        except (ValueError, KeyError, IndexError, TypeError):
            raise IpamError(f"{PLUGIN} ADD answered no address: {bounded(output)}") from None

    async def delete(self, subnet: str, container_id: str, ifname: str) -> None:
        """Release what ``container_id`` holds; nothing held is not an error."""
        await self._call("DEL", subnet, container_id, ifname)

    def holders(self) -> dict[str, str]:
        """Address -> container id of every reservation in this network's pool (pods' too)."""
        held: dict[str, str] = {}
        directory = self.data_dir / self.network
        if not directory.is_dir():
            return held
        for path in directory.iterdir():
            if path.name.startswith(("last_reserved_ip", "lock")):
                continue
            try:
                held[path.name] = path.read_text().splitlines()[0].strip()
            except (OSError, IndexError):
                continue
        return held


def _error_text(output: str) -> str:
    """The ``msg`` of a CNI error result, bounded; empty when ``output`` is not one."""
    try:
        error = json.loads(output)
    except ValueError:
        return ""
    return bounded(str(error.get("msg", ""))) if isinstance(error, dict) else ""
