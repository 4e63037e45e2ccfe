"""ClusterSnapshot: nodes and bound workloads, kept consistent as events arrive.

The snapshot is the scheduler's only picture of the cluster. It is updated incrementally
(``upsert_node``, ``remove_node``, ``upsert_workload``, ``remove_workload``) from watch events,
and by ``assume`` when the scheduler decides a placement before the Bind call returns, so the
next decision already sees the node's new allocation. ``forget`` undoes an assumption whose
bind failed. Only the scheduler writes here; plugins only read.

Invariant: ``nodes.used_*[slot]`` equals the sum of what the workloads on ``slot`` are
charged (their requests plus hypervisor overhead on that node, and one pod each; charged through
``NodeTable.add_usage``, which keeps ``free_*`` = ``alloc_* - used_*``), and
``nodes.extended_used[name][slot]`` the sum of their requests of extended resource ``name``.
"""

from __future__ import annotations

from collections import defaultdict

from scheduler.node_facts import NodeFacts
from scheduler.node_table import NodeTable
from scheduler.volumes import VolumeIndex
from scheduler.workload import WorkloadInfo
from scheduler.workload_table import WorkloadTable


class ClusterSnapshot:
    """Nodes and bound workloads. Not thread-safe: one owner mutates, decisions read."""

    def __init__(self, node_capacity: int = 64, workload_capacity: int = 256) -> None:
        self.nodes = NodeTable(node_capacity)
        self.workloads = WorkloadTable(workload_capacity)
        self.volumes = VolumeIndex()
        self._waiting: dict[str, set[int]] = defaultdict(set)
        self._nominated: set[str] = set()

    def upsert_node(self, facts: NodeFacts) -> int:
        """Add or replace a node; re-charges its workloads (its overhead may have changed)."""
        slot = self.nodes.upsert(facts)
        waiting = self._waiting.pop(facts.name, set())
        for wslot in waiting:
            self.workloads.node[wslot] = slot
            self.workloads.on_node[slot].add(wslot)
        self._recharge(slot)
        return slot

    def remove_node(self, name: str) -> None:
        """Forget a node; its workloads stay known and wait for a node of that name."""
        slot = self.nodes.index.get(name)
        if slot is None:
            return
        members = self.workloads.on_node.pop(slot, set())
        for wslot in members:
            self.workloads.node[wslot] = -1
        self._waiting[name].update(members)
        self.nodes.remove(name)

    def upsert_workload(self, info: WorkloadInfo) -> None:
        """Record a bound workload (``info.node_name`` set), replacing any earlier version."""
        if not info.node_name:
            raise ValueError(f"{info.key} is not bound; only bound workloads enter the snapshot")
        self.remove_workload(info.key)
        wslot = self.workloads.add(info)
        if info.claims:
            self.volumes.charge_user(info.claim_keys, info.node_name, +1)
        slot = self.nodes.index.get(info.node_name)
        if slot is None:
            self._waiting[info.node_name].add(wslot)
            return
        self.workloads.node[wslot] = slot
        self.workloads.on_node[slot].add(wslot)
        self._charge(wslot, slot, +1)

    def workload(self, key: str) -> WorkloadInfo | None:
        """The info recorded for ``key`` (bound, assumed or nominated), or None."""
        wslot = self.workloads.index.get(key)
        return None if wslot is None else self.workloads.infos[wslot]

    def remove_workload(self, key: str) -> WorkloadInfo | None:
        """Forget a workload and release what it held; returns its last info, or None."""
        wslot = self.workloads.index.get(key)
        if wslot is None:
            return None
        slot = int(self.workloads.node[wslot])
        if slot >= 0:
            self._charge(wslot, slot, -1)
            self.workloads.on_node[slot].discard(wslot)
        else:
            info = self.workloads.infos[wslot]
            if info is not None:
                self._waiting[info.node_name].discard(wslot)
        self._nominated.discard(key)
        removed = self.workloads.remove(key)
        if removed is None:
            return None
        if removed[1].claims:
            self.volumes.charge_user(removed[1].claim_keys, removed[1].node_name, -1)
        return removed[1]

    def assume(self, info: WorkloadInfo, node_name: str) -> WorkloadInfo:
        """Charge ``info`` to ``node_name`` before the bind completes; returns the bound info."""
        bound = info.bound_to(node_name)
        self.upsert_workload(bound)
        return bound

    def forget(self, key: str) -> None:
        """Undo ``assume`` for a bind that failed."""
        self.remove_workload(key)

    def nominate(self, info: WorkloadInfo, node_name: str) -> None:
        """Hold room on ``node_name`` for a preemptor while its victims terminate.

        The preemptor is charged to the node like an assumed workload (the node may look
        over-committed until the victims' deletions arrive), so no one else takes the room.
        """
        self.assume(info, node_name)
        self.workloads.protected[self.workloads.index[info.key]] = True
        self._nominated.add(info.key)

    def release_nomination(self, key: str) -> bool:
        """Drop the nomination held by ``key`` (before it is scheduled again); True if it had one."""
        if key not in self._nominated:
            return False
        self._nominated.discard(key)
        self.remove_workload(key)
        return True

    def nominated(self, key: str) -> bool:
        return key in self._nominated

    def mark_terminating(self, key: str) -> None:
        """A victim whose deletion was requested: still charged, never a victim again."""
        slot = self.workloads.index.get(key)
        if slot is not None:
            self.workloads.protected[slot] = True

    def charge_of(self, info: WorkloadInfo, slot: int) -> tuple[int, int, int]:
        """(cpu millis, memory bytes, ephemeral bytes) ``info`` costs on node ``slot``."""
        nodes = self.nodes
        memory = info.memory
        if info.is_vm:
            memory += int(nodes.vm_overhead[slot])
        elif info.uses_utility_vm:
            memory += int(nodes.uvm_overhead[slot])
        return info.cpu_millis, memory, info.ephemeral

    def _charge(self, wslot: int, slot: int, sign: int) -> None:
        table, nodes = self.workloads, self.nodes
        info = table.infos[wslot]
        assert info is not None
        if sign > 0:
            table.cpu[wslot], table.mem[wslot], table.eph[wslot] = self.charge_of(info, slot)
        nodes.add_usage(
            slot, sign * int(table.cpu[wslot]), sign * int(table.mem[wslot]), sign * int(table.eph[wslot]), sign
        )
        for name, count in info.extended:
            nodes.extended_column(name)[1][slot] += sign * count

    def _recharge(self, slot: int) -> None:
        nodes = self.nodes
        nodes.clear_usage(slot)
        for used in nodes.extended_used.values():
            used[slot] = 0
        for wslot in self.workloads.on_node.get(slot, ()):
            self._charge(wslot, slot, +1)

