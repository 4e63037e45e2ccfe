"""One small abstract class per extension point; a plugin subclasses exactly the points it
implements (``class NodeAffinity(PreFilter, VectorFilter, Score)``), so mypy checks every method
against its point and an unimplemented one fails at registration (framework/registry.py).

Order of a cycle: PreFilter (all) -> VectorFilter (profile order, whole arrays) ->
Filter (profile order, Python, only on surviving nodes) -> Score (the feasible nodes chosen by
framework/sampling.py) ->
pick the best node -> Reserve -> (scheduling loop) Bind -> on failure Unreserve.

Contracts shared by all: plugins never mutate the snapshot or the workload; they may write
to the CycleState under their own NAME. Results depend only on their inputs (time is data).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Self

from scheduler.arrays import FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.plugin_args import PluginArgs
from scheduler.framework.status import NodeVerdict, Status
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo


class Plugin(ABC):
    """Every plugin has a unique NAME, used in profiles and in explanations, and is built from
    the profile's ``args`` by ``from_args`` (abstract, so that a plugin class missing any method
    of its points is abstract too, and mypy refuses it where registration wants a ``type[Plugin]``)."""

    NAME: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_args(cls, args: PluginArgs) -> Self:
        """Build the plugin from its profile ``args``: read every option through ``args``, then
        ``args.finish()``. PluginArgsError for args it cannot use."""


class NoArgs(Plugin):
    """For plugins without options: ``from_args`` refuses any arg."""

    @classmethod
    def from_args(cls, args: PluginArgs) -> Self:
        args.finish()
        return cls()


class PreFilter(Plugin):
    @abstractmethod
    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        """Prepare per-cycle data. SKIP: Filter/Score of this plugin are not run for this workload.
        UNRESOLVABLE/UNSCHEDULABLE: the workload fits nowhere; the reasons apply to every node."""


class VectorFilter(Plugin):
    @abstractmethod
    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        """Pass mask over every node slot (absent slots may be anything; the framework masks
        them). With ``explain``, also one ReasonMask per distinct reason."""


class Filter(Plugin):
    @abstractmethod
    def filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slot: int) -> Status:
        """Per-node check for what cannot be vectorized; called only on nodes every vector filter
        passed. Returns every reason the node is rejected."""


class Score(Plugin):
    @abstractmethod
    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        """Scores in [0, 100], one per node slot of ``slots`` (feasible nodes, a sample of them
        in a large fleet: framework/sampling.py), in that order; higher is better. A score
        normalised against the best or worst node is normalised over ``slots``. The framework
        multiplies by the profile weight and sums."""


class Reserve(Plugin):
    @abstractmethod
    def reserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> Status:
        """Claim plugin-private resources on ``node``; a failure aborts the placement."""

    @abstractmethod
    def unreserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> None:
        """Undo ``reserve``; must be idempotent (it runs after any later failure, bind included)."""


# Abstract classes, so the tuple is not typed as tuple[type[Plugin], ...] (mypy reserves that for concrete ones).
EXTENSION_POINTS = (PreFilter, VectorFilter, Filter, Score, Reserve)
