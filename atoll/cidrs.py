"""Pod network ranges: the one parser for CIDR flags and the one rule for "an address of a node".

Shared by ``atoll up``, ``atoll-controller`` (the node IPAM controller's flags) and the agent (which
takes its workloads' addresses from its node's pod CIDR). Only IPv4 for now: host-local IPAM and
the simulated drivers hand out IPv4 addresses.
"""

from __future__ import annotations

import ipaddress

from atoll.user_text import quoted

DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
DEFAULT_NODE_MASK_SIZE = 24
# Services' virtual IPs (kube-apiserver's default --service-cluster-ip-range is 10.96.0.0/12).
DEFAULT_SERVICE_CIDR = "10.96.0.0/16"
# As kube-apiserver: at most a /12 (about a million addresses), at least 4 addresses.
SERVICE_CIDR_PREFIX_RANGE = (12, 30)


class CidrError(ValueError):
    """A malformed or unusable range; the message is one line naming the flag and the value."""


def parse_network(text: str, what: str) -> ipaddress.IPv4Network:
    """``text`` as an IPv4 network in CIDR form with no host bits set; CidrError otherwise."""
    try:
        if "/" not in text:
            raise ValueError("no /prefix length")
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as err:
        raise CidrError(f"{what} {quoted(text)} is not a CIDR such as 10.244.0.0/16: {err}") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise CidrError(f"{what} {quoted(text)}: only IPv4 ranges are supported")
    return network


def check_cluster_cidr(cluster_cidr: str, node_mask_size: int) -> ipaddress.IPv4Network:
    """The cluster CIDR, checked against the per-node mask size: a node range must fit inside it
    and leave room for at least one address besides the network and broadcast ones."""
    network = parse_network(cluster_cidr, "--cluster-cidr")
    if not network.prefixlen <= node_mask_size <= 30:
        raise CidrError(
            f"--node-cidr-mask-size {node_mask_size} must be between the cluster CIDR's prefix "
            f"({network.prefixlen}) and 30"
        )
    return network


def check_service_cidr(service_cidr: str) -> ipaddress.IPv4Network:
    """The service CIDR: an IPv4 range from a /12 to a /30 (network and broadcast addresses are
    never handed out)."""
    network = parse_network(service_cidr, "--service-cidr")
    shortest, longest = SERVICE_CIDR_PREFIX_RANGE
    if not shortest <= network.prefixlen <= longest:
        raise CidrError(f"--service-cidr {network}: the prefix length must be between /{shortest} and /{longest}")
    return network


def check_disjoint(named: dict[str, str]) -> None:
    """CidrError naming the first two of ``named`` (flag -> CIDR) that overlap."""
    networks = [(flag, parse_network(text, flag)) for flag, text in named.items() if text]
    for index, (flag, network) in enumerate(networks):
        for other_flag, other in networks[index + 1 :]:
            if network.overlaps(other):
                raise CidrError(f"{flag} {network} overlaps {other_flag} {other}")


def host_addresses(pod_cidr: str) -> tuple[ipaddress.IPv4Address, int]:
    """The first usable workload address of ``pod_cidr`` and how many there are. The network
    address, the first host address (the node's bridge gateway, as host-local IPAM keeps it) and
    the broadcast address are never handed out."""
    network = parse_network(pod_cidr, "pod CIDR")
    return network.network_address + 2, max(0, network.num_addresses - 3)


def is_ip(text: str, *, v4_only: bool = False) -> bool:
    """Whether ``text`` is an IP address (only IPv4 ones with ``v4_only``)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return isinstance(address, ipaddress.IPv4Address) or not v4_only


def in_cidr(address: str, pod_cidr: str) -> bool:
    """Whether ``address`` parses as an IP address inside ``pod_cidr``."""
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(pod_cidr)
    except ValueError:
        return False
