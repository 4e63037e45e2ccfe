"""NodeReady: only nodes whose Ready condition is True take workloads."""

from __future__ import annotations

from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, VectorFilter
from scheduler.framework.status import NodeVerdict, ReasonMask
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "NodeReady"
REASON = "node(s) were not ready"


class NodeReady(VectorFilter, NoArgs):
    NAME = NAME

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        ready = snapshot.nodes.ready
        return NodeVerdict(ready, (ReasonMask(REASON, ~ready),) if explain else ())
