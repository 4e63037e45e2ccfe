"""The node's CNI network configs (pure): what every pod sandbox and VM address is made from.

    pod network "atoll":  bridge (atoll0; gateway = first address of the node's pod CIDR; no
                          masquerade; hairpin, so a pod reaches itself through a Service)
                            ipam: host-local, one range = the node's spec.podCIDR, default route
                          portmap (capability portMappings: the containers' hostPorts), in the
                          chain only for a pod that has hostPorts (a process fewer for the rest)
    address only:         host-local alone with the same name and dataDir (a VM's tap address):
                          pods and VMs draw from one pool, so no address is handed out twice

host-local keeps its reservations in ``DATA_DIR/NAME/`` (one file per address, naming the
container id and interface that hold it), which is what makes a second agent on the same host
need a data dir of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.network.cni.invoker import NetworkConfigList

NETWORK_NAME = "atoll"
DEFAULT_BRIDGE = "atoll0"


@dataclass(frozen=True)
class PortMapping:
    """One hostPort (portmap's ``portMappings`` entry); ``protocol`` tcp or udp."""

    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"hostPort": self.host_port, "containerPort": self.container_port,
                                 "protocol": self.protocol.lower()}
        if self.host_ip:
            entry["hostIP"] = self.host_ip
        return entry


@dataclass(frozen=True)
class NodeNetworkSettings:
    """``ipam_dir``: host-local's dataDir (per agent); ``bridge``: the node bridge's name;
    ``mtu``: 0 leaves the bridge plugin's default."""

    ipam_dir: Path
    bridge: str = DEFAULT_BRIDGE
    name: str = NETWORK_NAME
    mtu: int = 0


def host_local(settings: NodeNetworkSettings, pod_cidr: str) -> dict[str, Any]:
    """The IPAM section: addresses of ``pod_cidr`` (host-local skips the network address, the
    gateway and the broadcast address), a default route through the gateway."""
    return {
        "type": "host-local",
        "ranges": [[{"subnet": pod_cidr}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": str(settings.ipam_dir),
    }


def pod_network(settings: NodeNetworkSettings, pod_cidr: str, *, host_ports: bool = True) -> NetworkConfigList:
    """The pod network; without ``host_ports`` the chain ends at the bridge (portmap with no
    mappings does nothing, on ADD as on DEL)."""
    bridge: dict[str, Any] = {
        "type": "bridge",
        "bridge": settings.bridge,
        "isGateway": True,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": host_local(settings, pod_cidr),
    }
    if settings.mtu:
        bridge["mtu"] = settings.mtu
    portmap = {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}
    return NetworkConfigList(settings.name, (bridge, portmap) if host_ports else (bridge,))


def address_network(settings: NodeNetworkSettings, pod_cidr: str) -> NetworkConfigList:
    """host-local alone, same pool as ``pod_network`` (the plugin reads only ``ipam``)."""
    return NetworkConfigList(settings.name, ({"type": "host-local", "ipam": host_local(settings, pod_cidr)},))
