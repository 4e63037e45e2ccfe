"""Framework: runs one profile's plugins over a snapshot for one workload. Pure: no I/O.

``schedule`` returns a Decision: the chosen node, or an Explanation counting every reason.
Reasons are attributed the Kubernetes way: a node is counted under the reasons of the first
filter (in profile order, vector filters before per-node filters) that rejects it; a filter
may give one node several reasons (insufficient cpu and insufficient memory).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scheduler.arrays import BoolArray, FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.explain import Explanation
from scheduler.framework.interfaces import Filter, Plugin, PreFilter, Reserve, Score, VectorFilter
from scheduler.framework.sampling import ADAPTIVE, ScoreSampler
from scheduler.framework.status import SUCCESS, Code, Status
from scheduler.metrics import PLUGIN_DURATION, sample_plugin_latency
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo


@dataclass(frozen=True, slots=True)
class Decision:
    """Where ``workload`` goes (``node``), or why it cannot go anywhere (``explanation``)."""

    workload: WorkloadInfo
    node: str = ""
    explanation: Explanation | None = None
    error: str = ""
    state: CycleState | None = None

    @property
    def placed(self) -> bool:
        return bool(self.node)


@dataclass(frozen=True, slots=True)
class Feasibility:
    """Nodes passing every filter, and (when explained) the reason counts of the others."""

    feasible: BoolArray
    counts: Counter[str]
    resolvable: bool = False


class Framework:
    """One profile's plugins, sorted by the extension points each declares (subclasses);
    ``weights`` apply to Score plugins. ``percentage_of_nodes_to_score``: how many feasible
    nodes are scored (framework/sampling.py; 0 = kube-scheduler's adaptive default)."""

    def __init__(
        self,
        profile_name: str,
        plugins: Sequence[tuple[Plugin, float]],
        percentage_of_nodes_to_score: int = ADAPTIVE,
    ) -> None:
        self.profile_name = profile_name
        self.sampler = ScoreSampler(percentage_of_nodes_to_score)
        self.plugins = [plugin for plugin, _ in plugins]
        self.pre_filters = [p for p in self.plugins if isinstance(p, PreFilter)]
        self.vector_filters = [p for p in self.plugins if isinstance(p, VectorFilter)]
        self.filters = [p for p in self.plugins if isinstance(p, Filter)]
        self.scores = [(p, float(w)) for p, w in plugins if isinstance(p, Score) and w > 0]
        self.reserves = [p for p in self.plugins if isinstance(p, Reserve)]

    def schedule(self, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Decision:
        """Filter, score and pick a node for ``workload``; does not reserve."""
        state = CycleState()
        state.record_plugin_metrics = sample_plugin_latency()
        total = snapshot.nodes.count
        failed = self.pre_filter(state, workload, snapshot)
        if failed is not None:
            if failed.code is Code.ERROR:
                return Decision(workload, error="; ".join(failed.reasons), state=state)
            counts = Counter(dict.fromkeys(failed.reasons, total))
            resolvable = failed.code is Code.UNSCHEDULABLE
            return Decision(workload, explanation=Explanation(total, counts, resolvable=resolvable), state=state)
        feasible = self.find_feasible(state, workload, snapshot, explain=False).feasible
        slots = feasible.nonzero()[0]  # np.flatnonzero, without its ravel and wrapper
        if slots.size == 0:
            why = self.find_feasible(state, workload, snapshot, explain=True)
            return Decision(
                workload, explanation=Explanation(total, why.counts, resolvable=why.resolvable), state=state
            )
        if slots.size == 1 or not self.scores:
            best = int(slots[0])
        else:
            candidates = self.sampler.choose(slots, total)
            best = int(candidates[int(np.argmax(self.score(state, workload, snapshot, candidates)))])
        return Decision(workload, node=snapshot.nodes.names[best], state=state)

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status | None:
        """Run every PreFilter; returns the first non-success, non-skip status (or None)."""
        # Every decision runs this over every PreFilter plugin: clock reads only in sampled cycles.
        record = state.record_plugin_metrics
        for plugin in self.pre_filters:
            if record:
                started = time.perf_counter()
                status = plugin.pre_filter(state, workload, snapshot)
                _observe(plugin, "PreFilter", started)
            else:
                status = plugin.pre_filter(state, workload, snapshot)
            if status is SUCCESS:
                continue
            if status.code is Code.SKIP:
                state.skipped.add(plugin.NAME)
            elif not status.ok:
                return Status(status.code, status.reasons, status.plugin or plugin.NAME)
        return None

    def find_feasible(
        self,
        state: CycleState,
        workload: WorkloadInfo,
        snapshot: ClusterSnapshot,
        explain: bool,
        without: frozenset[str] = frozenset(),
    ) -> Feasibility:
        """Nodes passing every filter except those named in ``without`` (used by preemption)."""
        alive = snapshot.nodes.present.copy()
        counts: Counter[str] = Counter()
        resolvable = False
        record = state.record_plugin_metrics
        for vector in self.vector_filters:
            name = vector.NAME
            if name in state.skipped or name in without:
                continue
            started = time.perf_counter() if record else 0.0
            verdict = vector.filter_nodes(state, workload, snapshot, explain)
            if record:
                _observe(vector, "Filter", started)
            if explain:
                rejected = alive & ~verdict.passed
                for reason in verdict.reasons:
                    hits = int(np.count_nonzero(reason.failing & rejected))
                    if hits:
                        counts[reason.reason] += hits
                        resolvable = resolvable or reason.resolvable
            alive &= verdict.passed
            if not explain and not alive.any():
                return Feasibility(alive, counts)
        per_node = [f for f in self.filters if f.NAME not in state.skipped and f.NAME not in without]
        if per_node:
            for slot in np.flatnonzero(alive):
                for plugin in per_node:
                    started = time.perf_counter()
                    status = plugin.filter(state, workload, snapshot, int(slot))
                    if state.record_plugin_metrics:
                        _observe(plugin, "Filter", started)
                    if not status.ok:
                        alive[slot] = False
                        counts.update(status.reasons)
                        resolvable = resolvable or status.code is Code.UNSCHEDULABLE
                        break
        return Feasibility(alive, counts, resolvable)

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        """Weighted sum of every applicable Score plugin, one total per slot of ``slots``."""
        totals = np.zeros(slots.size, dtype=np.float64)
        for plugin, weight in self.scores:
            if plugin.NAME in state.skipped:
                continue
            started = time.perf_counter()
            totals += weight * plugin.score(state, workload, snapshot, slots)
            if state.record_plugin_metrics:
                _observe(plugin, "Score", started)
        return totals

    def reserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> Status:
        """Run Reserve plugins in order; on a failure, unreserve those already run."""
        done: list[Reserve] = []
        for plugin in self.reserves:
            started = time.perf_counter()
            status = plugin.reserve(state, workload, snapshot, node)
            if state.record_plugin_metrics:
                _observe(plugin, "Reserve", started)
            if not status.ok:
                for earlier in reversed(done):
                    earlier.unreserve(state, workload, snapshot, node)
                return status
            done.append(plugin)
        return SUCCESS

    def unreserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> None:
        for plugin in reversed(self.reserves):
            plugin.unreserve(state, workload, snapshot, node)


def _observe(plugin: Plugin, extension_point: str, started: float) -> None:
    PLUGIN_DURATION.labels(plugin.NAME, extension_point).observe(time.perf_counter() - started)
