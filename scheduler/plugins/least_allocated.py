"""LeastAllocated (the default, spreading score): prefer nodes with the most cpu and memory left
after placing the workload, averaged over the two resources (weights: args.resources)."""

from __future__ import annotations

from scheduler.arrays import FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.plugins.allocation import (
    EQUAL_WEIGHTS,
    ResourceWeights,
    WeightedAllocationScore,
    requested_fractions,
    score_range,
)
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "LeastAllocated"


def least_allocated(
    cpu_fraction: FloatArray, mem_fraction: FloatArray, weights: ResourceWeights = EQUAL_WEIGHTS
) -> FloatArray:
    """Score 0-100: 100 * weighted mean free fraction after placement (never negative)."""
    return score_range(100.0 - weights.mean(cpu_fraction, mem_fraction))


class LeastAllocated(WeightedAllocationScore):
    """Args: ``resources`` ({cpu: W, memory: W}), the weight of each resource's fraction."""

    NAME = NAME

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        return least_allocated(*requested_fractions(state, snapshot.nodes, workload, slots), self.weights)
