"""The node range allocator: which /N subnets of the cluster CIDR are taken, and by whom.

Pure bookkeeping, no I/O (Kubernetes' cidrset): the controller rebuilds it from the Node objects
it lists on start (``occupy`` for each stored ``spec.podCIDR``), so a restarted or newly elected
controller knows every range in use before it hands out one more.
"""

from __future__ import annotations

import ipaddress


class RangeExhaustedError(Exception):
    """Every node range of the cluster CIDR is taken."""


class NodeRangeAllocator:
    def __init__(self, cluster_cidr: ipaddress.IPv4Network, node_mask_size: int) -> None:
        """``node_mask_size`` must lie between ``cluster_cidr``'s prefix and 32 (see
        atoll.cidrs.check_cluster_cidr, which checks the flags)."""
        if not cluster_cidr.prefixlen <= node_mask_size <= 32:
            raise ValueError(f"node mask /{node_mask_size} does not fit in {cluster_cidr}")
        self.cluster_cidr = cluster_cidr
        self.node_mask_size = node_mask_size
        self.capacity = 1 << (node_mask_size - cluster_cidr.prefixlen)
        self._step = 1 << (32 - node_mask_size)
        self._owner: dict[int, str] = {}  # range index -> node name
        self._next = 0  # where the search for a free range starts (round robin, as cidrset does)

    def __len__(self) -> int:
        return len(self._owner)

    def owner(self, cidr: str) -> str | None:
        index = self._index(cidr)
        return None if index is None else self._owner.get(index)

    def occupy(self, cidr: str, node: str) -> bool:
        """Record that ``node`` holds ``cidr``. False (and nothing recorded) when ``cidr`` is not
        one of this allocator's node ranges or another node already holds it."""
        index = self._index(cidr)
        if index is None or self._owner.get(index, node) != node:
            return False
        self._owner[index] = node
        return True

    def allocate(self, node: str) -> str:
        """A free range for ``node``, now recorded as its own; RangeExhaustedError when none is free."""
        for offset in range(self.capacity):
            index = (self._next + offset) % self.capacity
            if index not in self._owner:
                self._owner[index] = node
                self._next = (index + 1) % self.capacity
                return str(self._network(index))
        raise RangeExhaustedError(
            f"all {self.capacity} /{self.node_mask_size} ranges of cluster CIDR {self.cluster_cidr} are in use"
        )

    def release(self, cidr: str, node: str) -> None:
        """Free ``cidr`` if ``node`` holds it; anything else is left alone."""
        index = self._index(cidr)
        if index is not None and self._owner.get(index) == node:
            del self._owner[index]

    def _network(self, index: int) -> ipaddress.IPv4Network:
        base = int(self.cluster_cidr.network_address) + index * self._step
        return ipaddress.IPv4Network((base, self.node_mask_size))

    def _index(self, cidr: str) -> int | None:
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            return None
        if network.prefixlen != self.node_mask_size or not network.subnet_of(self.cluster_cidr):
            return None
        return (int(network.network_address) - int(self.cluster_cidr.network_address)) // self._step
