"""NodeResourcesFit: the node has room for the workload's cpu, memory, pod slot, ephemeral
storage and every extended resource it requests (nvidia.com/gpu: whole units against the
node's allocatable count, never overcommitted), counting the hypervisor's per-VM memory for VMs
and the utility VM for Hyper-V isolated Windows pods. Every shortage is a separate reason
("insufficient nvidia.com/gpu"); all are resolvable by preemption, except an extended resource
that no node offers at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from scheduler.arrays import BoolArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, VectorFilter
from scheduler.framework.status import NodeVerdict, ReasonMask
from scheduler.node_table import NodeTable
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "NodeResourcesFit"
INSUFFICIENT_CPU = "insufficient cpu"
INSUFFICIENT_MEMORY = "insufficient memory"
TOO_MANY_PODS = "too many pods"
INSUFFICIENT_EPHEMERAL = "insufficient ephemeral-storage"


def insufficient(resource: str) -> str:
    """The reason a node lacks ``resource`` (an extended resource's name)."""
    return f"insufficient {resource}"


def memory_request(workload: WorkloadInfo, nodes: NodeTable, slots: I64Array | None = None) -> int | I64Array:
    """Memory ``workload`` needs on each node (or each of ``slots``): its own plus hypervisor
    overhead where it applies."""
    if workload.is_vm:
        overhead = nodes.vm_overhead
    elif workload.uses_utility_vm:
        overhead = nodes.uvm_overhead
    else:
        return workload.memory
    return workload.memory + (overhead if slots is None else overhead[slots])


class Shortages(NamedTuple):
    """Per node: short of each resource? None = the workload asks for none of it.
    ``extended``: (name, short per node, whether any node offers the name) per extended resource."""

    cpu: BoolArray | None
    memory: BoolArray | None
    pods: BoolArray
    ephemeral: BoolArray | None
    extended: tuple[tuple[str, BoolArray, bool], ...] = ()

    def any(self) -> BoolArray:
        """Per node: short of at least one resource."""
        short = self.pods.copy()
        for part in (self.cpu, self.memory, self.ephemeral):
            if part is not None:
                short |= part
        for _, part, _ in self.extended:
            short |= part
        return short

    def reasons(self) -> tuple[ReasonMask, ...]:
        """One ReasonMask per resource the workload asks for."""
        standard = (
            (INSUFFICIENT_CPU, self.cpu),
            (INSUFFICIENT_MEMORY, self.memory),
            (TOO_MANY_PODS, self.pods),
            (INSUFFICIENT_EPHEMERAL, self.ephemeral),
        )
        return (
            *(ReasonMask(reason, part, resolvable=True) for reason, part in standard if part is not None),
            *(ReasonMask(insufficient(name), part, resolvable=offered) for name, part, offered in self.extended),
        )


def shortages(
    nodes: NodeTable,
    workload: WorkloadInfo,
    *,
    extra_cpu: I64Array | int = 0,
    extra_mem: I64Array | int = 0,
    extra_pods: I64Array | int = 0,
    extra_eph: I64Array | int = 0,
    extra_extended: Mapping[str, I64Array] | None = None,
) -> Shortages:
    """What ``workload`` is short of on each node.

    ``extra_*`` is capacity to count as free in addition (preemption passes what victims hold).
    """
    cpu = (_plus(nodes.free_cpu, extra_cpu) < workload.cpu_millis) if workload.cpu_millis else None
    mem_need = memory_request(workload, nodes)
    asks_memory = bool(mem_need) if isinstance(mem_need, int) else bool(mem_need.any())
    mem = (_plus(nodes.free_mem, extra_mem) < mem_need) if asks_memory else None
    pods = _plus(nodes.free_pods, extra_pods) < 1
    eph = (_plus(nodes.free_eph, extra_eph) < workload.ephemeral) if workload.ephemeral else None
    if not workload.extended:
        return Shortages(cpu, mem, pods, eph)
    extended = []
    for name, count in workload.extended:
        alloc = nodes.extended_alloc.get(name)
        if alloc is None:  # no node has ever offered it
            extended.append((name, np.ones(nodes.capacity, dtype=np.bool_), False))
            continue
        free = alloc - nodes.extended_used[name]
        if extra_extended is not None and name in extra_extended:
            free = free + extra_extended[name]
        extended.append((name, free < count, bool(alloc.any())))
    return Shortages(cpu, mem, pods, eph, tuple(extended))


def _plus(free: I64Array, extra: I64Array | int) -> I64Array:
    """``free + extra`` without a pass over every node when there is no extra."""
    return free if isinstance(extra, int) and extra == 0 else free + extra


def fits(nodes: NodeTable, workload: WorkloadInfo) -> BoolArray:
    """Per node: whether every requested resource fits."""
    return ~shortages(nodes, workload).any()


class NodeResourcesFit(VectorFilter, NoArgs):
    NAME = NAME

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        parts = shortages(snapshot.nodes, workload)
        passed = ~parts.any()
        return NodeVerdict(passed, parts.reasons()) if explain else NodeVerdict(passed)
