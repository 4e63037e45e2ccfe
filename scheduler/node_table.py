"""NodeTable: every node as one slot in parallel NumPy arrays, updated in place.

Slots are reused after a node is removed (``present`` turns False); filters work on whole
arrays and treat absent slots as failing. Allocation (``used_*``) is maintained by the
ClusterSnapshot through ``add_usage``/``clear_usage``; ``free_*`` (= ``alloc_* - used_*``, what
NodeResourcesFit compares against) is kept equal to it here, on every change of either.

Extended resources (nvidia.com/gpu, ...) get a pair of columns per name, created the first time
a node offers the name or a bound workload holds it (``extended_column``); a name nothing has
mentioned has no column, which reads as "no node offers any".
"""

from __future__ import annotations

import numpy as np

from scheduler.arrays import BoolArray, FloatArray, I64Array
from scheduler.label_columns import LabelColumns
from scheduler.node_facts import NodeFacts, Taint
from scheduler.overhead import utility_vm_memory

OS_CODES = {"linux": 1, "windows": 2}
ISOLATION_BITS = {"process": 1, "hyperv": 2, "hostprocess": 4}
HYPERVISOR_CODES = {"none": 0, "type1": 1, "type2": 2}
GUEST_BITS = {"linux": 1, "windows": 2}

_FLOAT_COLUMNS = ("inv_alloc_cpu", "inv_alloc_mem")
_INT64_COLUMNS = (
    "alloc_cpu",
    "alloc_mem",
    "alloc_pods",
    "alloc_eph",
    "used_cpu",
    "used_mem",
    "used_pods",
    "used_eph",
    "free_cpu",
    "free_mem",
    "free_pods",
    "free_eph",
    "vm_overhead",
    "uvm_overhead",
)


def grown_capacity(capacity: int) -> int:
    """The next size of the columns: a quarter more (at least 64 slots), not twice as many.
    Every filter and score works on whole columns, so unused slots cost every decision: doubling
    left a fleet of 5,000 nodes in 8,192 slots (39 % of each pass wasted), this in 5,813 (14 %);
    the copies of growing stay amortised O(1) per node."""
    return max(capacity + 64, capacity + capacity // 4)


def _bits(names: frozenset[str], table: dict[str, int]) -> int:
    return sum(table.get(name, 0) for name in names)


class NodeTable:
    """Node facts as columns. One writer (the snapshot); readers are filters and scores."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self.names: list[str] = [""] * capacity
        self.facts: list[NodeFacts | None] = [None] * capacity
        self.index: dict[str, int] = {}
        self._free: list[int] = []
        self._next = 0
        self.present = np.zeros(capacity, dtype=np.bool_)
        self.ready = np.zeros(capacity, dtype=np.bool_)
        self.unschedulable = np.zeros(capacity, dtype=np.bool_)
        self.os_code = np.zeros(capacity, dtype=np.int8)
        self.win_build = np.zeros(capacity, dtype=np.int32)
        self.win_revision = np.full(capacity, -1, dtype=np.int32)
        self.isolation_bits = np.zeros(capacity, dtype=np.uint8)
        self.hv_type = np.zeros(capacity, dtype=np.int8)
        self.guest_bits = np.zeros(capacity, dtype=np.uint8)
        # Architecture and variant names as small codes (``name_code``); 0 is "" (not reported).
        self.arch_code = np.zeros(capacity, dtype=np.int16)
        self.variant_code = np.zeros(capacity, dtype=np.int16)
        self._name_codes: dict[str, int] = {"": 0}
        for column in _INT64_COLUMNS:
            setattr(self, column, np.zeros(capacity, dtype=np.int64))
        for column in _FLOAT_COLUMNS:
            setattr(self, column, np.zeros(capacity, dtype=np.float64))
        # 1/allocatable (0 where nothing is allocatable), so scores multiply instead of divide.
        self.inv_alloc_cpu: FloatArray
        self.inv_alloc_mem: FloatArray
        self.alloc_cpu: I64Array
        self.alloc_mem: I64Array
        self.alloc_pods: I64Array
        self.alloc_eph: I64Array
        self.used_cpu: I64Array
        self.used_mem: I64Array
        self.used_pods: I64Array
        self.used_eph: I64Array
        self.free_cpu: I64Array
        self.free_mem: I64Array
        self.free_pods: I64Array
        self.free_eph: I64Array
        self.vm_overhead: I64Array
        self.uvm_overhead: I64Array
        self.labels = LabelColumns(capacity)
        self.taint_masks: dict[Taint, BoolArray] = {}
        self.extended_alloc: dict[str, I64Array] = {}
        self.extended_used: dict[str, I64Array] = {}
        self.generation = 0

    @property
    def count(self) -> int:
        """Number of present nodes."""
        return len(self.index)

    def schedulable(self) -> BoolArray:
        """Present, Ready and not cordoned."""
        return self.present & self.ready & ~self.unschedulable

    def upsert(self, facts: NodeFacts) -> int:
        """Store ``facts`` under their node name; returns the slot. Bumps ``generation``."""
        slot = self.index.get(facts.name)
        if slot is None:
            slot = self._allocate()
            self.index[facts.name] = slot
            self.names[slot] = facts.name
        previous = self.facts[slot]
        self.facts[slot] = facts
        self.present[slot] = True
        self.ready[slot] = facts.ready
        self.unschedulable[slot] = facts.unschedulable
        self.alloc_cpu[slot] = facts.cpu_millis
        self.alloc_mem[slot] = facts.memory
        self.alloc_pods[slot] = facts.pods
        self.alloc_eph[slot] = facts.ephemeral
        self._refresh_free(slot)
        self.inv_alloc_cpu[slot] = 1.0 / facts.cpu_millis if facts.cpu_millis > 0 else 0.0
        self.inv_alloc_mem[slot] = 1.0 / facts.memory if facts.memory > 0 else 0.0
        self.os_code[slot] = OS_CODES.get(facts.os, 0)
        build = facts.windows_build
        self.win_build[slot] = 0 if build is None else build.build
        self.win_revision[slot] = -1 if build is None or build.revision is None else build.revision
        self.isolation_bits[slot] = _bits(facts.isolation, ISOLATION_BITS)
        self.hv_type[slot] = HYPERVISOR_CODES.get(facts.hypervisor_type, 0)
        self.guest_bits[slot] = _bits(facts.guest_os, GUEST_BITS)
        self.arch_code[slot] = self._intern(facts.arch)
        self.variant_code[slot] = self._intern(facts.arch_variant)
        self.vm_overhead[slot] = facts.per_vm_overhead_memory
        self.uvm_overhead[slot] = utility_vm_memory(facts.per_vm_overhead_memory)
        if previous is None or previous.labels != facts.labels:
            self.labels.set(slot, facts.labels)
        if previous is None or previous.taints != facts.taints:
            self._set_taints(slot, previous.taints if previous else (), facts.taints)
        if previous is not None:
            for name in previous.extended.keys() - facts.extended.keys():
                self.extended_alloc[name][slot] = 0
        for name, count in facts.extended.items():
            self.extended_column(name)[0][slot] = count
        self.generation += 1
        return slot

    def add_usage(self, slot: int, cpu: int, memory: int, ephemeral: int, pods: int) -> None:
        """Charge (or, negative, release) usage on ``slot``; ``free_*`` follows."""
        self.used_cpu[slot] += cpu
        self.used_mem[slot] += memory
        self.used_eph[slot] += ephemeral
        self.used_pods[slot] += pods
        self._refresh_free(slot)

    def clear_usage(self, slot: int) -> None:
        """No usage on ``slot`` (before the snapshot charges its workloads again)."""
        self.used_cpu[slot] = self.used_mem[slot] = self.used_eph[slot] = self.used_pods[slot] = 0
        self._refresh_free(slot)

    def _refresh_free(self, slot: int) -> None:
        self.free_cpu[slot] = self.alloc_cpu[slot] - self.used_cpu[slot]
        self.free_mem[slot] = self.alloc_mem[slot] - self.used_mem[slot]
        self.free_eph[slot] = self.alloc_eph[slot] - self.used_eph[slot]
        self.free_pods[slot] = self.alloc_pods[slot] - self.used_pods[slot]

    def name_code(self, name: str) -> int:
        """The code of an architecture or variant name in ``arch_code``/``variant_code``; -1 when
        no node ever reported it (so a comparison matches no node)."""
        return self._name_codes.get(name, -1)

    def code_name(self, code: int) -> str:
        """The name of ``code`` (for explanations)."""
        return next((name for name, value in self._name_codes.items() if value == code), "")

    def _intern(self, name: str) -> int:
        code = self._name_codes.get(name)
        if code is None:
            code = self._name_codes[name] = len(self._name_codes)
        return code

    def extended_column(self, name: str) -> tuple[I64Array, I64Array]:
        """(allocatable, used) columns of extended resource ``name``, created (zero) when new.
        Only the snapshot calls this; readers use ``extended_alloc.get``."""
        alloc = self.extended_alloc.get(name)
        if alloc is None:
            alloc = self.extended_alloc[name] = np.zeros(self.capacity, dtype=np.int64)
            self.extended_used[name] = np.zeros(self.capacity, dtype=np.int64)
        return alloc, self.extended_used[name]

    def remove(self, name: str) -> int | None:
        """Forget node ``name``; returns its former slot, or None when unknown."""
        slot = self.index.pop(name, None)
        if slot is None:
            return None
        previous = self.facts[slot]
        if previous is not None:
            self._set_taints(slot, previous.taints, ())
        self.facts[slot] = None
        self.names[slot] = ""
        self.present[slot] = False
        self.ready[slot] = False
        self.labels.clear(slot)
        for column in (*_INT64_COLUMNS, *_FLOAT_COLUMNS):
            getattr(self, column)[slot] = 0
        for columns in (self.extended_alloc, self.extended_used):
            for values in columns.values():
                values[slot] = 0
        self._free.append(slot)
        self.generation += 1
        return slot

    def _set_taints(self, slot: int, old: tuple[Taint, ...], new: tuple[Taint, ...]) -> None:
        for taint in old:
            mask = self.taint_masks.get(taint)
            if mask is not None:
                mask[slot] = False
                if not mask.any():
                    del self.taint_masks[taint]
        for taint in new:
            mask = self.taint_masks.get(taint)
            if mask is None:
                mask = np.zeros(self.capacity, dtype=np.bool_)
                self.taint_masks[taint] = mask
            mask[slot] = True

    def _allocate(self) -> int:
        if self._free:
            return self._free.pop()
        if self._next == self.capacity:
            self._grow(grown_capacity(self.capacity))
        slot = self._next
        self._next += 1
        return slot

    def _grow(self, capacity: int) -> None:
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray):
                fill = -1 if name == "win_revision" else 0
                grown = np.full(capacity, fill, dtype=value.dtype)
                grown[: self.capacity] = value
                setattr(self, name, grown)
        for taint, mask in self.taint_masks.items():
            grown_mask = np.zeros(capacity, dtype=np.bool_)
            grown_mask[: self.capacity] = mask
            self.taint_masks[taint] = grown_mask
        for columns in (self.extended_alloc, self.extended_used):
            for name, values in columns.items():
                grown_values = np.zeros(capacity, dtype=np.int64)
                grown_values[: self.capacity] = values
                columns[name] = grown_values
        self.names.extend([""] * (capacity - self.capacity))
        self.facts.extend([None] * (capacity - self.capacity))
        self.labels.grow(capacity)
        self.capacity = capacity
