"""PodTopologySpread: keep matching workloads evenly spread across a node label (zone, rack).

For each constraint, ``skew(node) = matching(domain of node) + self - min over eligible
domains``; DoNotSchedule rejects nodes where skew > maxSkew (and nodes lacking the label),
ScheduleAnyway only scores: fewer matching workloads in the node's domain score higher.
Eligible domains are those of schedulable nodes matching the workload's node selector and
required affinity, as in Kubernetes.
"""

from __future__ import annotations

import numpy as np

from scheduler.arrays import BoolArray, FloatArray, I32Array, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, Score, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.plugins.node_affinity import SelectorMasks, required_masks
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import SpreadConstraint, WorkloadInfo

NAME = "PodTopologySpread"
SKEW_REASON = "node(s) didn't match pod topology spread constraints"
MISSING_REASON = "node(s) didn't match pod topology spread constraints (missing required label)"


def domain_counts(
    snapshot: ClusterSnapshot, namespace: str, constraint: SpreadConstraint
) -> tuple[I32Array | None, FloatArray]:
    """(domain code per node slot or None, matching workloads per domain code)."""
    codes = snapshot.nodes.labels.codes(constraint.topology_key)
    if codes is None:
        return None, np.zeros(0)
    table = snapshot.workloads
    slots = np.asarray(table.matching(namespace, constraint.selector), dtype=np.int64)
    node_slots = table.node[slots] if slots.size else np.zeros(0, dtype=np.int64)
    node_slots = node_slots[node_slots >= 0]
    domains = codes[node_slots]
    domains = domains[domains >= 0]
    size = int(codes.max(initial=-1)) + 1
    return codes, np.bincount(domains, minlength=size).astype(np.float64)


def skew_ok(codes: I32Array, per_domain: FloatArray, eligible: BoolArray, self_match: int, max_skew: int) -> BoolArray:
    """Per node: placing here keeps skew within ``max_skew`` (nodes without the label fail)."""
    has = codes >= 0
    eligible_domains = np.unique(codes[eligible & has])
    if eligible_domains.size == 0 or per_domain.size == 0:
        return has
    floor = float(per_domain[eligible_domains].min())
    count_here = per_domain[np.where(has, codes, 0)]
    return has & (count_here + self_match - floor <= max_skew)


class PodTopologySpread(PreFilter, VectorFilter, Score, NoArgs):
    NAME = NAME

    def __init__(self) -> None:
        self.cache = SelectorMasks()

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        return SUCCESS if workload.spread else SKIP

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        nodes = snapshot.nodes
        passed = np.ones(nodes.capacity, dtype=np.bool_)
        missing = np.zeros(nodes.capacity, dtype=np.bool_)
        selector, affinity = required_masks(workload, nodes, self.cache)
        eligible = nodes.schedulable() & selector & affinity
        for constraint in workload.spread:
            if not constraint.hard:
                continue
            codes, per_domain = domain_counts(snapshot, workload.namespace, constraint)
            if codes is None:
                missing[:] = True
                passed[:] = False
                continue
            missing |= codes < 0
            self_match = 1 if constraint.selector.matches(workload.labels) else 0
            passed &= skew_ok(codes, per_domain, eligible, self_match, constraint.max_skew)
        if not explain:
            return NodeVerdict(passed)
        return NodeVerdict(
            passed,
            (
                ReasonMask(MISSING_REASON, missing),
                ReasonMask(SKEW_REASON, ~passed & ~missing, resolvable=True),
            ),
        )

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        """100 where the soft-constrained domains hold the fewest matching workloads, 0 the most."""
        raw = np.zeros(slots.size, dtype=np.float64)
        soft = [c for c in workload.spread if not c.hard]
        if not soft:
            return np.full(slots.size, 100.0)
        for constraint in soft:
            codes, per_domain = domain_counts(snapshot, workload.namespace, constraint)
            if codes is None or per_domain.size == 0:
                continue
            codes = codes[slots]
            raw += np.where(codes >= 0, per_domain[np.where(codes >= 0, codes, 0)], 0.0)
        low, high = float(raw.min(initial=0.0)), float(raw.max(initial=0.0))
        if high == low:
            return np.full(slots.size, 100.0)
        return 100.0 * (high - raw) / (high - low)
