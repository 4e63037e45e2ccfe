"""MostAllocated (the bin-packing score): prefer nodes that are fullest after placing the
workload, so whole nodes stay free for large workloads or can be powered down."""

from __future__ import annotations

import numpy as np

from scheduler.arrays import BoolArray, FloatArray
from scheduler.framework.cycle_state import CycleState
from scheduler.plugins.allocation import EQUAL_WEIGHTS, ResourceWeights, WeightedAllocationScore, requested_fractions
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "MostAllocated"


def most_allocated(
    cpu_fraction: FloatArray, mem_fraction: FloatArray, weights: ResourceWeights = EQUAL_WEIGHTS
) -> FloatArray:
    """Score 0-100: 100 * weighted mean used fraction after placement (capped at 100)."""
    result: FloatArray = np.clip(weights.mean(cpu_fraction, mem_fraction), 0.0, 100.0)
    return result


class MostAllocated(WeightedAllocationScore):
    """Args: ``resources`` ({cpu: W, memory: W}), the weight of each resource's fraction."""

    NAME = NAME

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, feasible: BoolArray
    ) -> FloatArray:
        return most_allocated(*requested_fractions(snapshot.nodes, workload), self.weights)
