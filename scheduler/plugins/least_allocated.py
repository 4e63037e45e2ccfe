"""LeastAllocated (the default, spreading score): prefer nodes with the most cpu and memory left
after placing the workload, averaged over the two resources."""

from __future__ import annotations

import numpy as np

from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import BoolArray, FloatArray
from scheduler.plugins.allocation import requested_fractions
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "LeastAllocated"


def least_allocated(cpu_fraction: FloatArray, mem_fraction: FloatArray) -> FloatArray:
    """Score 0-100: 100 * mean free fraction after placement (never negative)."""
    return np.clip(100.0 - 50.0 * (cpu_fraction + mem_fraction), 0.0, 100.0)


class LeastAllocated:
    NAME = NAME

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, feasible: BoolArray
    ) -> FloatArray:
        return least_allocated(*requested_fractions(snapshot.nodes, workload))
