"""NodeResourcesFit: the node has room for the workload's cpu, memory, pod slot and ephemeral
storage, counting the hypervisor's per-VM memory for VMs and the utility VM for Hyper-V
isolated Windows pods. Every shortage is a separate reason, and all are resolvable by
preemption."""

from __future__ import annotations

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


def memory_request(workload: WorkloadInfo, nodes: NodeTable) -> int | I64Array:
    """Memory ``workload`` needs on each node: its own plus hypervisor overhead where it applies."""
    if workload.is_vm:
        return workload.memory + nodes.vm_overhead
    if workload.uses_utility_vm:
        return workload.memory + nodes.uvm_overhead
    return workload.memory


def shortages(
    nodes: NodeTable,
    workload: WorkloadInfo,
    *,
    extra_cpu: I64Array | int = 0,
    extra_mem: I64Array | int = 0,
    extra_pods: I64Array | int = 0,
    extra_eph: I64Array | int = 0,
) -> tuple[BoolArray | None, BoolArray | None, BoolArray, BoolArray | None]:
    """Per node: short of (cpu, memory, pods, ephemeral)? None = the workload asks for none.

    ``extra_*`` is capacity to count as free in addition (preemption passes what victims hold).
    """
    cpu = (nodes.alloc_cpu - nodes.used_cpu + extra_cpu < workload.cpu_millis) if workload.cpu_millis else None
    mem_need = memory_request(workload, nodes)
    mem = (nodes.alloc_mem - nodes.used_mem + extra_mem < mem_need) if np.any(mem_need) else None
    pods = nodes.alloc_pods - nodes.used_pods + extra_pods < 1
    eph = (nodes.alloc_eph - nodes.used_eph + extra_eph < workload.ephemeral) if workload.ephemeral else None
    return cpu, mem, pods, eph


def any_shortage(parts: tuple[BoolArray | None, BoolArray | None, BoolArray, BoolArray | None]) -> BoolArray:
    """Per node: short of at least one resource."""
    cpu, mem, pods, eph = parts
    short = pods.copy()
    for part in (cpu, mem, eph):
        if part is not None:
            short |= part
    return short


def fits(nodes: NodeTable, workload: WorkloadInfo) -> BoolArray:
    """Per node: whether every requested resource fits."""
    return ~any_shortage(shortages(nodes, workload))


class NodeResourcesFit(VectorFilter, NoArgs):
    NAME = NAME

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        parts = shortages(snapshot.nodes, workload)
        short = any_shortage(parts)
        if not explain:
            return NodeVerdict(~short)
        cpu, mem, pods, eph = parts
        reasons = tuple(
            ReasonMask(reason, part, resolvable=True)
            for reason, part in (
                (INSUFFICIENT_CPU, cpu),
                (INSUFFICIENT_MEMORY, mem),
                (TOO_MANY_PODS, pods),
                (INSUFFICIENT_EPHEMERAL, eph),
            )
            if part is not None
        )
        return NodeVerdict(~short, reasons)
