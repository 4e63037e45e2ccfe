"""Shared by the allocation scores: requested/allocatable fractions after a placement, and the
per-resource weights an operator sets in the profile (Kubernetes' scoringStrategy.resources):

    - name: LeastAllocated
      args: {resources: {cpu: 1, memory: 1}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from scheduler.arrays import FloatArray
from scheduler.framework.interfaces import Score
from scheduler.framework.plugin_args import PluginArgs
from scheduler.node_table import NodeTable
from scheduler.plugins.node_resources_fit import memory_request
from scheduler.workload import WorkloadInfo

RESOURCES = ("cpu", "memory")


@dataclass(frozen=True, slots=True)
class ResourceWeights:
    """How much each resource's fraction counts in an allocation score (>= 0, not both 0)."""

    cpu: float = 1.0
    memory: float = 1.0

    @classmethod
    def from_args(cls, args: PluginArgs) -> ResourceWeights:
        """From ``args.resources`` ({cpu: W, memory: W}; a resource left out weighs 1)."""
        weights = args.weights("resources", RESOURCES)
        return cls(weights["cpu"], weights["memory"])

    def mean(self, cpu_fraction: FloatArray, mem_fraction: FloatArray) -> FloatArray:
        """Weighted mean of the fractions, times 100. With equal weights this is exactly
        ``50 * (cpu + memory)`` (the scale is computed first, so no rounding is added)."""
        scale = 100.0 / (self.cpu + self.memory)
        result: FloatArray = scale * (self.cpu * cpu_fraction + self.memory * mem_fraction)
        return result


EQUAL_WEIGHTS = ResourceWeights()


def requested_fractions(nodes: NodeTable, workload: WorkloadInfo) -> tuple[FloatArray, FloatArray]:
    """(cpu, memory) fraction of allocatable in use per node if ``workload`` landed there."""
    cpu = (nodes.used_cpu + workload.cpu_millis) * nodes.inv_alloc_cpu
    mem = (nodes.used_mem + memory_request(workload, nodes)) * nodes.inv_alloc_mem
    return cpu, mem


class WeightedAllocationScore(Score):
    """Base of the scores that weigh cpu and memory fractions; takes ``args.resources``."""

    def __init__(self, weights: ResourceWeights = EQUAL_WEIGHTS) -> None:
        self.weights = weights

    @classmethod
    def from_args(cls, args: PluginArgs) -> Self:
        weights = ResourceWeights.from_args(args)
        args.finish()
        return cls(weights)
