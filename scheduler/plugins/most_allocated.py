"""MostAllocated (the bin-packing score): prefer nodes that are fullest after placing the
workload, so whole nodes stay free for large workloads or can be powered down."""

from __future__ import annotations

import numpy as np

from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import BoolArray, FloatArray
from scheduler.plugins.allocation import requested_fractions
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "MostAllocated"


def most_allocated(cpu_fraction: FloatArray, mem_fraction: FloatArray) -> FloatArray:
    """Score 0-100: 100 * mean used fraction after placement (capped at 100)."""
    return np.clip(50.0 * (cpu_fraction + mem_fraction), 0.0, 100.0)


class MostAllocated:
    NAME = NAME

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, feasible: BoolArray
    ) -> FloatArray:
        return most_allocated(*requested_fractions(snapshot.nodes, workload))
