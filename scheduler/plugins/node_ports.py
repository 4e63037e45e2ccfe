"""NodePorts: a node's host ports are a resource (kube-scheduler's NodePorts filter). A workload
never lands where a workload already bound or assumed there holds a conflicting hostPort: same
port and protocol, on overlapping host addresses (``HostPort.conflicts``). Preemption does not
free ports (it evicts for cpu and memory only; see scheduler/preemption.py)."""

from __future__ import annotations

import numpy as np

from scheduler.arrays import BoolArray
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"


def taken_nodes(snapshot: ClusterSnapshot, workload: WorkloadInfo) -> BoolArray:
    """Per node slot: some workload there holds a host port that conflicts with ``workload``'s.
    Visits only the workloads that hold host ports."""
    table = snapshot.workloads
    taken = np.zeros(snapshot.nodes.capacity, dtype=np.bool_)
    for wslot in table.with_host_ports:
        other = table.infos[wslot]
        node = int(table.node[wslot])
        if other is None or node < 0 or other.key == workload.key or taken[node]:
            continue
        if any(mine.conflicts(theirs) for mine in workload.host_ports for theirs in other.host_ports):
            taken[node] = True
    return taken


class NodePorts(PreFilter, VectorFilter, NoArgs):
    NAME = NAME

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        return SUCCESS if workload.host_ports else SKIP

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        taken = taken_nodes(snapshot, workload)
        return NodeVerdict(~taken, (ReasonMask(REASON, taken),) if explain else ())
