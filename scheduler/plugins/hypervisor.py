"""Hypervisor: a VM needs a node with a hypervisor of the required type (type1, type2 or any)
that can boot its guest OS; among suitable nodes, type-1 hosts score higher when the VM
states no requirement."""

from __future__ import annotations

import numpy as np

from scheduler.arrays import FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, Score, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.node_table import GUEST_BITS, HYPERVISOR_CODES
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "Hypervisor"
NO_HYPERVISOR = "node(s) had no hypervisor"


def accepts(node_type: str, guests: frozenset[str], required_type: str, guest_os: str) -> tuple[str, ...]:
    """Reasons a node with hypervisor ``node_type`` booting ``guests`` refuses the VM (empty = accepts)."""
    if node_type == "none":
        return (NO_HYPERVISOR,)
    reasons = []
    if required_type != "any" and node_type != required_type:
        reasons.append(type_reason(required_type))
    if guest_os not in guests:
        reasons.append(guest_reason(guest_os))
    return tuple(reasons)


def type_reason(required: str) -> str:
    return f"node(s) didn't have a {required} hypervisor"


def guest_reason(guest_os: str) -> str:
    return f"node(s) couldn't boot {guest_os} guests"


class Hypervisor(PreFilter, VectorFilter, Score, NoArgs):
    NAME = NAME

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        return SUCCESS if workload.is_vm else SKIP

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        nodes = snapshot.nodes
        has = nodes.hv_type != 0
        required = workload.hypervisor_type
        typed = has if required == "any" else nodes.hv_type == HYPERVISOR_CODES[required]
        guest_bit = GUEST_BITS.get(workload.guest_os, 0)
        boots = (nodes.guest_bits & guest_bit) != 0 if guest_bit else np.zeros(nodes.capacity, dtype=np.bool_)
        passed = typed & boots
        if not explain:
            return NodeVerdict(passed)
        return NodeVerdict(
            passed,
            (
                ReasonMask(NO_HYPERVISOR, ~has),
                ReasonMask(type_reason(required), has & ~typed),
                ReasonMask(guest_reason(workload.guest_os), has & ~boots),
            ),
        )

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        """100 on type-1 hosts, 0 elsewhere (only differs when the VM accepts any type)."""
        return np.where(snapshot.nodes.hv_type[slots] == HYPERVISOR_CODES["type1"], 100.0, 0.0)
