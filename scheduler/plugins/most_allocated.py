"""MostAllocated (the bin-packing score): prefer nodes that are fullest after placing the
workload, so whole nodes stay free for large workloads or can be powered down."""

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

NAME = "MostAllocated"


def most_allocated(
    cpu_fraction: FloatArray, mem_fraction: FloatArray, weights: ResourceWeights = EQUAL_WEIGHTS
) -> FloatArray:
    """Score 0-100: 100 * weighted mean used fraction after placement (capped at 100)."""
    return score_range(weights.mean(cpu_fraction, mem_fraction))


class MostAllocated(WeightedAllocationScore):
    """Args: ``resources`` ({cpu: W, memory: W}), the weight of each resource's fraction."""

    NAME = NAME

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        return most_allocated(*requested_fractions(state, snapshot.nodes, workload, slots), self.weights)
