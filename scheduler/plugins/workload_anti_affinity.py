"""WorkloadAntiAffinity: a workload never shares a topology domain (node label value) with a
workload its required anti-affinity terms select, in its namespace; and, symmetrically, never
enters a domain whose existing workloads' terms select it. Nodes without the topology label
cannot conflict."""

from __future__ import annotations

import numpy as np

from scheduler.arrays import BoolArray
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "WorkloadAntiAffinity"
REASON = "node(s) didn't satisfy workload anti-affinity rules"


def forbidden_nodes(snapshot: ClusterSnapshot, workload: WorkloadInfo) -> BoolArray:
    """Per node slot: placing ``workload`` there would violate some anti-affinity term."""
    nodes, table = snapshot.nodes, snapshot.workloads
    forbidden = np.zeros(nodes.capacity, dtype=np.bool_)
    pairs: list[tuple[str, int]] = []  # (topology key, node slot holding a conflicting workload)
    for term in workload.anti_affinity:
        for wslot in table.matching(workload.namespace, term.selector):
            info = table.infos[wslot]
            if info is not None and info.key != workload.key:
                pairs.append((term.topology_key, int(table.node[wslot])))
    for wslot in table.with_anti_affinity:
        other = table.infos[wslot]
        if other is None or other.namespace != workload.namespace or other.key == workload.key:
            continue
        for term in other.anti_affinity:
            if term.selector.matches(workload.labels):
                pairs.append((term.topology_key, int(table.node[wslot])))
    for key, slot in pairs:
        codes = nodes.labels.codes(key)
        if slot < 0 or codes is None or codes[slot] < 0:
            continue
        forbidden |= codes == codes[slot]
    return forbidden


class WorkloadAntiAffinity(PreFilter, VectorFilter, NoArgs):
    NAME = NAME

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        return SUCCESS if workload.anti_affinity or snapshot.workloads.with_anti_affinity else SKIP

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        forbidden = forbidden_nodes(snapshot, workload)
        return NodeVerdict(~forbidden, (ReasonMask(REASON, forbidden, resolvable=True),) if explain else ())
