"""Shared by the allocation scores: requested/allocatable fractions after a placement."""

from __future__ import annotations

from scheduler.framework.interfaces import FloatArray
from scheduler.node_table import NodeTable
from scheduler.plugins.node_resources_fit import memory_request
from scheduler.workload import WorkloadInfo


def requested_fractions(nodes: NodeTable, workload: WorkloadInfo) -> tuple[FloatArray, FloatArray]:
    """(cpu, memory) fraction of allocatable in use per node if ``workload`` landed there."""
    cpu = (nodes.used_cpu + workload.cpu_millis) * nodes.inv_alloc_cpu
    mem = (nodes.used_mem + memory_request(workload, nodes)) * nodes.inv_alloc_mem
    return cpu, mem
