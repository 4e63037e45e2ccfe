"""TaintToleration: NoSchedule and NoExecute taints a workload does not tolerate reject the
node; untolerated PreferNoSchedule taints lower its score. Each distinct taint is one mask in
the node table, so the cost grows with distinct taints, not with nodes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from atoll.tolerations import tolerates
from scheduler.arrays import FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, Score, VectorFilter
from scheduler.framework.status import NodeVerdict, ReasonMask
from scheduler.node_facts import Taint
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import Toleration, WorkloadInfo

NAME = "TaintToleration"
HARD_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
SOFT_EFFECTS = frozenset({"PreferNoSchedule"})


def tolerated(taint: Taint, tolerations: Iterable[Toleration]) -> bool:
    """Whether some toleration covers ``taint``."""
    return any(tolerates(t, taint) for t in tolerations)


def untolerated(taints: Iterable[Taint], tolerations: Iterable[Toleration], effects: frozenset[str]) -> list[Taint]:
    """The taints with an effect in ``effects`` that no toleration covers."""
    tols = tuple(tolerations)
    return [t for t in taints if t.effect in effects and not tolerated(t, tols)]


def reason(taint: Taint) -> str:
    return f"node(s) had untolerated taint {taint}"


class TaintToleration(VectorFilter, Score, NoArgs):
    NAME = NAME

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        nodes = snapshot.nodes
        rejected = np.zeros(nodes.capacity, dtype=np.bool_)
        reasons: list[ReasonMask] = []
        bad = untolerated(nodes.taint_masks, workload.tolerations, HARD_EFFECTS)
        for taint in bad:
            mask = nodes.taint_masks[taint]
            rejected |= mask
            if explain:
                reasons.append(ReasonMask(reason(taint), mask))
        return NodeVerdict(~rejected, tuple(reasons))

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        """100 for nodes with the fewest untolerated PreferNoSchedule taints, 0 for the most."""
        nodes = snapshot.nodes
        counts = np.zeros(slots.size, dtype=np.float64)
        for taint in untolerated(nodes.taint_masks, workload.tolerations, SOFT_EFFECTS):
            counts += nodes.taint_masks[taint][slots]
        worst = float(counts.max(initial=0.0))
        if worst == 0:
            return np.full(slots.size, 100.0)
        return 100.0 * (1.0 - counts / worst)
