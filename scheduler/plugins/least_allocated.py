"""LeastAllocated (the default, spreading score): prefer nodes with the most cpu and memory left
after placing the workload, averaged over the two resources (weights: args.resources)."""

from __future__ import annotations

import numpy as np

from scheduler.arrays import BoolArray, FloatArray
from scheduler.framework.cycle_state import CycleState
from scheduler.plugins.allocation import EQUAL_WEIGHTS, ResourceWeights, WeightedAllocationScore, requested_fractions
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "LeastAllocated"


def least_allocated(
    cpu_fraction: FloatArray, mem_fraction: FloatArray, weights: ResourceWeights = EQUAL_WEIGHTS
) -> FloatArray:
    """Score 0-100: 100 * weighted mean free fraction after placement (never negative)."""
    result: FloatArray = np.clip(100.0 - weights.mean(cpu_fraction, mem_fraction), 0.0, 100.0)
    return result


class LeastAllocated(WeightedAllocationScore):
    """Args: ``resources`` ({cpu: W, memory: W}), the weight of each resource's fraction."""

    NAME = NAME

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, feasible: BoolArray
    ) -> FloatArray:
        return least_allocated(*requested_fractions(snapshot.nodes, workload), self.weights)
