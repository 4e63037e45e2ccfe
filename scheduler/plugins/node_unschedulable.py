"""NodeUnschedulable: cordoned nodes take nothing new, unless the workload tolerates the
``node.kubernetes.io/unschedulable:NoSchedule`` taint (as in Kubernetes)."""

from __future__ import annotations

from atoll.tolerations import tolerates
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.node_facts import Taint
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable"
CORDON_TAINT = Taint(UNSCHEDULABLE_TAINT_KEY, "", "NoSchedule")


def tolerates_cordon(workload: WorkloadInfo) -> bool:
    """Whether ``workload`` may be placed on cordoned nodes."""
    return any(tolerates(t, CORDON_TAINT) for t in workload.tolerations)


class NodeUnschedulable(PreFilter, VectorFilter, NoArgs):
    NAME = NAME

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        return SKIP if tolerates_cordon(workload) else SUCCESS

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        cordoned = snapshot.nodes.unschedulable
        return NodeVerdict(~cordoned, (ReasonMask(REASON, cordoned),) if explain else ())
