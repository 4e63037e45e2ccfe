"""One small protocol per extension point; a plugin implements only the points it needs.

Order of a cycle: PreFilter (all) -> VectorFilter (profile order, whole arrays) ->
Filter (profile order, Python, only on surviving nodes) -> Score (feasible nodes) ->
pick the best node -> Reserve -> (runner) Bind -> on failure Unreserve.

Contracts shared by all: plugins never mutate the snapshot or the workload; they may write
to the CycleState under their own NAME. Results depend only on their inputs (time is data).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from scheduler.framework.cycle_state import CycleState
from scheduler.framework.status import NodeVerdict, Status
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@runtime_checkable
class Plugin(Protocol):
    """Every plugin has a unique NAME, used in profiles and in explanations."""

    NAME: str


@runtime_checkable
class PreFilter(Protocol):
    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        """Prepare per-cycle data. SKIP: Filter/Score of this plugin are not run for this workload.
        UNRESOLVABLE/UNSCHEDULABLE: the workload fits nowhere; the reasons apply to every node."""
        ...


@runtime_checkable
class VectorFilter(Protocol):
    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        """Pass mask over every node slot (absent slots may be anything; the framework masks
        them). With ``explain``, also one ReasonMask per distinct reason."""
        ...


@runtime_checkable
class Filter(Protocol):
    def filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slot: int) -> Status:
        """Per-node check for what cannot be vectorized; called only on nodes every vector filter
        passed. Returns every reason the node is rejected."""
        ...


@runtime_checkable
class Score(Protocol):
    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, feasible: BoolArray
    ) -> FloatArray:
        """Scores in [0, 100] for every slot (only ``feasible`` ones are read); higher is better.
        The framework multiplies by the profile weight and sums."""
        ...


@runtime_checkable
class Reserve(Protocol):
    def reserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> Status:
        """Claim plugin-private resources on ``node``; a failure aborts the placement."""
        ...

    def unreserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> None:
        """Undo ``reserve``; must be idempotent (it runs after any later failure, bind included)."""
        ...
