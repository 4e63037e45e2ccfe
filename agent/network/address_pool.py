"""PodAddressPool: host-local IPAM for one node, in memory (the simulated drivers' network).

Every address comes from the node's pod CIDR (``spec.podCIDR``, given by the node IPAM controller
and learnt by the agent from its Node object): no range, no address (``NoPodCidrError``; the
workload waits). One address per workload: the containers of a pod share theirs, and it is
released when the last task of the workload is released. After an agent restart the drivers
``reserve`` the addresses of the tasks they adopt, so nothing is handed out twice and an adopted
workload keeps its address. The network address, the gateway (first host) and the broadcast
address are never handed out (as CNI's host-local IPAM does).

This is the seam for real networking: the CNI runner of the real drivers takes addresses from
host-local IPAM itself and does not use this pool.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict

from atoll.cidrs import host_addresses, in_cidr

RELEASED_KEPT = 256  # remembered released addresses, oldest forgotten first


class NoPodCidrError(Exception):
    """The node has no pod CIDR yet."""


class AddressesExhaustedError(Exception):
    """Every address of the node's pod CIDR is in use."""


class PodAddressPool:
    def __init__(self, node_name: str = "") -> None:
        self.node_name = node_name
        self.cidr = ""
        self._first = 0
        self._count = 0
        self._next = 0
        self._by_owner: dict[str, str] = {}  # workload uid -> address
        self._owner_of: dict[str, str] = {}  # address -> workload uid
        self._tasks: dict[str, str] = {}  # task id -> workload uid
        self._holders: dict[str, set[str]] = {}  # workload uid -> its task ids holding the address
        self._released: OrderedDict[str, str] = OrderedDict()  # workload uid -> address it last held

    @property
    def ready(self) -> bool:
        return bool(self.cidr)

    def set_range(self, cidr: str) -> bool:
        """Use ``cidr`` (the node's spec.podCIDR) from now on; True when it changed. Addresses
        already held stay held (they are released as their tasks go)."""
        if not cidr or cidr == self.cidr:
            return False
        first, self._count = host_addresses(cidr)
        self._first, self._next, self.cidr = int(first), 0, cidr
        return True

    def allocate(self, owner: str, task_id: str) -> str:
        """The address of workload ``owner`` (the one it holds already, or a free one), now also
        held by ``task_id``. NoPodCidrError before the node has a range; AddressesExhaustedError
        when none is free."""
        address = self._by_owner.get(owner)
        if address is None:
            if not self.cidr:
                raise NoPodCidrError(f"node {self.node_name} has no pod CIDR yet (the node IPAM controller gives one)")
            previous = self._released.pop(owner, None)
            reusable = previous is not None and previous not in self._owner_of and in_cidr(previous, self.cidr)
            address = previous if reusable and previous is not None else self._free_address()
            self._by_owner[owner], self._owner_of[address] = address, owner
        self._hold(owner, task_id)
        return address

    def reserve(self, owner: str, task_id: str, address: str) -> bool:
        """Record that ``task_id`` of ``owner`` holds ``address`` (an adopted task). False, and
        nothing recorded, when the address is empty or held by another workload."""
        if not address or self._owner_of.get(address, owner) != owner or self._by_owner.get(owner, address) != address:
            return False
        self._by_owner[owner], self._owner_of[address] = address, owner
        self._hold(owner, task_id)
        return True

    def release(self, task_id: str) -> None:
        """``task_id`` no longer holds its address; the workload's address is free once none of its
        tasks holds it. Releasing an unknown task does nothing."""
        owner = self._tasks.pop(task_id, None)
        if owner is None:
            return
        holders = self._holders[owner]
        holders.discard(task_id)
        if holders:
            return
        del self._holders[owner]
        address = self._by_owner.pop(owner, None)
        if address is not None:
            self._owner_of.pop(address, None)
            self._released[owner] = address
            if len(self._released) > RELEASED_KEPT:
                self._released.popitem(last=False)

    def in_use(self) -> dict[str, str]:
        """Workload uid -> address, for inspection and tests."""
        return dict(self._by_owner)

    def _hold(self, owner: str, task_id: str) -> None:
        self._tasks[task_id] = owner
        self._holders.setdefault(owner, set()).add(task_id)

    def _free_address(self) -> str:
        for offset in range(self._count):
            index = (self._next + offset) % self._count
            address = str(ipaddress.IPv4Address(self._first + index))
            if address not in self._owner_of:
                self._next = (index + 1) % self._count
                return address
        raise AddressesExhaustedError(f"all {self._count} addresses of pod CIDR {self.cidr} on node "
                                      f"{self.node_name} are in use")
