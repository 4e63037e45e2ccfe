"""WorkloadTable: bound (or assumed) workloads as slots, with what each one costs its node.

Columns (node slot, priority, charged cpu/memory/ephemeral) let preemption and spreading
aggregate per node with ``np.bincount`` instead of Python loops; a label index answers
"which workloads in namespace N carry label k=v" for selectors.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from atoll.labels import LabelSelector, Operator
from scheduler.workload import WorkloadInfo

_EQUALITY = (Operator.EQUALS, Operator.IN)  # single-valued, these name the label every match carries


class WorkloadTable:
    """Bound workloads. ``node[slot]`` is -1 while the workload's node is unknown."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self.infos: list[WorkloadInfo | None] = [None] * capacity
        self.index: dict[str, int] = {}
        self._free: list[int] = []
        self._next = 0
        self.alive = np.zeros(capacity, dtype=np.bool_)
        self.node = np.full(capacity, -1, dtype=np.int64)
        self.priority = np.zeros(capacity, dtype=np.int64)
        self.cpu = np.zeros(capacity, dtype=np.int64)
        self.mem = np.zeros(capacity, dtype=np.int64)
        self.eph = np.zeros(capacity, dtype=np.int64)
        # Victims whose deletion was requested, and preemptors holding a nomination: neither
        # may be chosen as a victim again.
        self.protected = np.zeros(capacity, dtype=np.bool_)
        self.by_namespace: dict[str, set[int]] = defaultdict(set)
        self.by_label: dict[tuple[str, str, str], set[int]] = defaultdict(set)
        self.on_node: dict[int, set[int]] = defaultdict(set)
        self.with_anti_affinity: set[int] = set()
        self.with_host_ports: set[int] = set()

    def __len__(self) -> int:
        return len(self.index)

    def add(self, info: WorkloadInfo) -> int:
        """Register ``info`` (not yet charged to a node); returns its slot."""
        slot = self._free.pop() if self._free else self._take_next()
        self.index[info.key] = slot
        self.infos[slot] = info
        self.alive[slot] = True
        self.protected[slot] = False
        self.priority[slot] = info.priority
        self.by_namespace[info.namespace].add(slot)
        for key, value in info.labels.items():
            self.by_label[(info.namespace, key, value)].add(slot)
        if info.anti_affinity:
            self.with_anti_affinity.add(slot)
        if info.host_ports:
            self.with_host_ports.add(slot)
        return slot

    def remove(self, key: str) -> tuple[int, WorkloadInfo] | None:
        """Unregister ``key``; returns (slot, info) or None. The caller uncharges first."""
        slot = self.index.pop(key, None)
        if slot is None:
            return None
        info = self.infos[slot]
        assert info is not None
        self.by_namespace[info.namespace].discard(slot)
        for label in info.labels.items():
            members = self.by_label.get((info.namespace, *label))
            if members is not None:
                members.discard(slot)
                if not members:
                    del self.by_label[(info.namespace, *label)]
        self.with_anti_affinity.discard(slot)
        self.with_host_ports.discard(slot)
        self.infos[slot] = None
        self.alive[slot] = False
        self.node[slot] = -1
        self._free.append(slot)
        return slot, info

    def matching(self, namespace: str, selector: LabelSelector) -> list[int]:
        """Slots of workloads in ``namespace`` whose labels match ``selector``."""
        candidates: set[int] | None = None
        for req in selector.requirements:
            if req.operator not in _EQUALITY or len(req.values) != 1:
                continue
            members = self.by_label.get((namespace, req.key, req.values[0]), set())
            candidates = members if candidates is None or len(members) < len(candidates) else candidates
        if candidates is None:
            candidates = self.by_namespace.get(namespace, set())
        infos = self.infos
        return [s for s in candidates if (info := infos[s]) is not None and selector.matches(info.labels)]

    def _take_next(self) -> int:
        if self._next == self.capacity:
            self._grow(self.capacity * 2)
        slot = self._next
        self._next += 1
        return slot

    def _grow(self, capacity: int) -> None:
        for name in ("alive", "node", "priority", "cpu", "mem", "eph", "protected"):
            old = getattr(self, name)
            grown = np.full(capacity, -1 if name == "node" else 0, dtype=old.dtype)
            grown[: self.capacity] = old
            setattr(self, name, grown)
        self.infos.extend([None] * (capacity - self.capacity))
        self.capacity = capacity
