"""Shared by the allocation scores: requested/allocatable fractions after a placement, and the
per-resource weights an operator sets in the profile (Kubernetes' scoringStrategy.resources):

    - name: LeastAllocated
      args: {resources: {cpu: 1, memory: 1}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np

from scheduler.arrays import FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
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


def score_range(scores: FloatArray) -> FloatArray:
    """``scores`` limited to [0, 100], in place (``np.clip`` costs several times more per call)."""
    np.maximum(scores, 0.0, out=scores)
    np.minimum(scores, 100.0, out=scores)
    return scores


@dataclass(frozen=True, slots=True)
class RequestedFractions:
    """What ``requested_fractions`` computed for ``slots`` in this cycle (several scores read it)."""

    slots: I64Array
    cpu: FloatArray
    memory: FloatArray


FRACTIONS_KEY = "allocation.RequestedFractions"


def requested_fractions(
    state: CycleState, nodes: NodeTable, workload: WorkloadInfo, slots: I64Array
) -> tuple[FloatArray, FloatArray]:
    """(cpu, memory) fraction of allocatable in use on each node of ``slots`` if ``workload``
    landed there. Computed once per cycle and kept in ``state`` (under FRACTIONS_KEY, this
    module's own) for the next score that asks about the same slots."""
    cached = state.read(FRACTIONS_KEY, RequestedFractions)
    if cached is not None and cached.slots is slots:
        return cached.cpu, cached.memory
    cpu = (nodes.used_cpu[slots] + workload.cpu_millis) * nodes.inv_alloc_cpu[slots]
    mem = (nodes.used_mem[slots] + memory_request(workload, nodes, slots)) * nodes.inv_alloc_mem[slots]
    state.write(FRACTIONS_KEY, RequestedFractions(slots, cpu, mem))
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
