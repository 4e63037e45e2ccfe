"""NodeCniNetwork: the node's one CNI network, shared by its pod sandboxes and its VMs.

It learns the node's pod CIDR (``set_pod_cidr``, from the Node object), writes the config list
it uses to ``CONF_DIR/atoll.conflist`` for operators (``cnitool`` reads the same file), and calls
the plugins through one CniInvoker. Two typed entry points:

- ``attach_pod`` / ``detach_pod``: bridge/host-local (+ portmap for hostPorts) into a pod's netns,
  whose ``lo`` is up from its creation (netns.create_namespaces);
- ``allocate_address`` / ``release_address``: host-local alone (a VM's tap), same pool.

Every attachment's CNI container id is the workload's uid, so a reservation in host-local's data
dir names the workload that holds it (``reservations``; the orphan sweep relies on it).
NoPodCidrError before the node has a pod CIDR.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.network.address_pool import NoPodCidrError
from agent.network.cni.conflist import (
    NodeNetworkSettings,
    PortMapping,
    address_network,
    pod_network,
)
from agent.network.cni.errors import CniResultError
from agent.network.cni.invoker import Attachment, CniInvoker, NetworkConfigList
from agent.network.cni.result import CniIpConfig, CniResult
from agent.network.netns import netns_exists
from atoll.atomic_file import write_atomic

POD_IFNAME = "eth0"
CONFLIST_FILE = "atoll.conflist"


@dataclass(frozen=True)
class Reservation:
    """One address host-local handed out: to ``container_id`` (a workload uid) on ``ifname``."""

    address: str
    container_id: str
    ifname: str


class NodeCniNetwork:
    def __init__(self, invoker: CniInvoker, settings: NodeNetworkSettings, conf_dir: Path,
                 node_name: str = "") -> None:
        self.invoker = invoker
        self.settings = settings
        self.conf_dir = conf_dir
        self.node_name = node_name
        self.pod_cidr = ""

    @property
    def ready(self) -> bool:
        return bool(self.pod_cidr)

    def set_pod_cidr(self, cidr: str) -> bool:
        """Use ``cidr`` (the node's spec.podCIDR) from now on; True when it changed. Writes the
        config list for operators."""
        if not cidr or cidr == self.pod_cidr:
            return False
        self.pod_cidr = cidr
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.conf_dir / CONFLIST_FILE, json.dumps(self.pod_network().to_json(), indent=2).encode())
        return True

    def pod_network(self) -> NetworkConfigList:
        return pod_network(self.settings, self._cidr())

    def address_network(self) -> NetworkConfigList:
        return address_network(self.settings, self._cidr())

    def _cidr(self) -> str:
        if not self.pod_cidr:
            node = f"node {self.node_name}" if self.node_name else "this node"
            raise NoPodCidrError(f"{node} has no pod CIDR yet (the node IPAM controller gives one)")
        return self.pod_cidr

    # --- pods --------------------------------------------------------------------------------

    async def attach_pod(self, uid: str, netns: Path, ports: Sequence[PortMapping] = ()) -> CniResult:
        """ADD the pod network to the network namespace at ``netns``; its result (its IP is the
        pod's). On failure nothing stays attached (the invoker DELs a chain whose ADD failed)."""
        network = pod_network(self.settings, self._cidr(), host_ports=bool(ports))
        capabilities = {"portMappings": [p.to_json() for p in ports]} if ports else {}
        return await self.invoker.add(network, Attachment(uid, str(netns), POD_IFNAME, capability_args=capabilities))

    async def detach_pod(self, uid: str, netns: Path, previous: CniResult | None,
                         ports: Sequence[PortMapping] = ()) -> None:
        """DEL the pod network for ``uid``; succeeds when it is already gone, also when no
        namespace is pinned at ``netns`` any more: CNI_NETNS is then empty, as the spec allows
        for DEL, and the plugins release the address and host rules (the veth went with the
        namespace)."""
        capabilities = {"portMappings": [p.to_json() for p in ports]} if ports else {}
        network = pod_network(self.settings, self.pod_cidr or _cidr_of(previous), host_ports=bool(ports))
        pinned = str(netns) if netns_exists(netns) else ""
        await self.invoker.delete(network, Attachment(uid, pinned, POD_IFNAME, capability_args=capabilities),
                                  previous)

    # --- addresses alone (VMs) ---------------------------------------------------------------

    async def allocate_address(self, uid: str, ifname: str = POD_IFNAME) -> CniIpConfig:
        """An address from the node's pool held by workload ``uid`` on ``ifname`` (host-local
        ADD), or the one it holds already (host-local refuses a second ADD for the same holder;
        an agent restarted mid-way asks again). CniError when the pool is exhausted."""
        held = next((r for r in self.reservations() if (r.container_id, r.ifname) == (uid, ifname)), None)
        if held is not None:
            network = ipaddress.ip_network(self._cidr())
            return CniIpConfig(f"{held.address}/{network.prefixlen}", str(network.network_address + 1))
        result = await self.invoker.add(self.address_network(), Attachment(uid, _NO_NETNS, ifname))
        if not result.ips:
            raise CniResultError(f"host-local gave workload {uid} no address")
        return result.ips[0]

    async def release_address(self, uid: str, ifname: str = POD_IFNAME) -> None:
        """Give back what ``uid`` holds on ``ifname`` (host-local DEL); nothing held is fine."""
        network = address_network(self.settings, self.pod_cidr or "0.0.0.0/32")
        await self.invoker.delete(network, Attachment(uid, _NO_NETNS, ifname))

    def reservations(self) -> list[Reservation]:
        """Every address host-local holds in this node's pool, by reading its data dir."""
        pool = self.settings.ipam_dir / self.settings.name
        found: list[Reservation] = []
        if not pool.is_dir():
            return found
        for path in sorted(pool.iterdir()):
            if not _is_address(path.name):
                continue
            try:
                lines = path.read_text().split()
            except OSError:
                continue
            if lines:
                found.append(Reservation(path.name, lines[0], lines[1] if len(lines) > 1 else POD_IFNAME))
        return found


# host-local never opens the namespace, yet the spec makes CNI_NETNS required for ADD.
_NO_NETNS = "/proc/self/ns/net"


def _cidr_of(previous: CniResult | None) -> str:
    """A subnet for a DEL config when the node forgot its CIDR: the recorded address's network."""
    if previous is not None and previous.ips:
        return str(ipaddress.ip_interface(previous.ips[0].address).network)
    return "0.0.0.0/32"


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
