"""OS: a Windows pod never lands on a Linux node, nor the reverse. VMs are exempt: their guest
OS is the Hypervisor plugin's concern (a Linux KVM host boots Windows guests)."""

from __future__ import annotations

from atoll.user_text import bounded_repr
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.node_table import OS_CODES
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "OS"
REASON = "os mismatch"


class OperatingSystem(PreFilter, VectorFilter, NoArgs):
    NAME = NAME

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        if workload.is_vm:
            return SKIP
        if workload.os not in OS_CODES:
            reason = f"unknown os {bounded_repr(workload.os)} (use linux or windows)"
            return Status.unschedulable(NAME, reason, resolvable=False)
        return SUCCESS

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        passed = snapshot.nodes.os_code == OS_CODES[workload.os]
        return NodeVerdict(passed, (ReasonMask(REASON, ~passed),) if explain else ())
