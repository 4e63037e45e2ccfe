"""BalancedAllocation: prefer nodes whose cpu and memory would be used in similar proportion,
so neither resource is stranded (Kubernetes' formula: 100 * (1 - std of the fractions))."""

from __future__ import annotations

import numpy as np

from scheduler.arrays import FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, Score
from scheduler.plugins.allocation import requested_fractions
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "BalancedAllocation"


def balanced(cpu_fraction: FloatArray, mem_fraction: FloatArray) -> FloatArray:
    """Score 0-100; for two resources the standard deviation is half their difference."""
    cpu = np.minimum(cpu_fraction, 1.0)
    mem = np.minimum(mem_fraction, 1.0)
    result: FloatArray = 100.0 * (1.0 - 0.5 * np.abs(cpu - mem))
    return result


class BalancedAllocation(Score, NoArgs):
    NAME = NAME

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        return balanced(*requested_fractions(state, snapshot.nodes, workload, slots))
