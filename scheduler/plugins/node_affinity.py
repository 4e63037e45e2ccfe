"""NodeAffinity: ``nodeSelector`` and required node-affinity terms filter; preferred terms score.

Required terms are ORed, requirements inside a term ANDed; all six operators are supported.
Masks are cached per (selector, node-table generation): label changes are rare, workloads
sharing a selector are common.
"""

from __future__ import annotations

import numpy as np

from scheduler.arrays import BoolArray, FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, Score, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.node_table import NodeTable
from scheduler.selectors import Selector, selector_mask
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "NodeAffinity"
SELECTOR_REASON = "node(s) didn't match node selector"
AFFINITY_REASON = "node(s) didn't match node affinity"
_CACHE_LIMIT = 1024


class SelectorMasks:
    """Selector -> node mask, valid while the node table's generation is unchanged."""

    def __init__(self) -> None:
        self._generation = -1
        self._masks: dict[Selector, BoolArray] = {}

    def mask(self, selector: Selector, nodes: NodeTable) -> BoolArray:
        if nodes.generation != self._generation or len(self._masks) > _CACHE_LIMIT:
            self._masks.clear()
            self._generation = nodes.generation
        cached = self._masks.get(selector)
        if cached is None:
            cached = selector_mask(selector, nodes.labels)
            self._masks[selector] = cached
        return cached


def required_masks(workload: WorkloadInfo, nodes: NodeTable, cache: SelectorMasks) -> tuple[BoolArray, BoolArray]:
    """(matches nodeSelector, matches required affinity terms) per node slot."""
    selector = cache.mask(workload.node_selector, nodes)
    if workload.required_terms is None:
        return selector, np.ones(nodes.capacity, dtype=np.bool_)
    affinity = np.zeros(nodes.capacity, dtype=np.bool_)
    for term in workload.required_terms:
        affinity |= cache.mask(term, nodes)
    return selector, affinity


class NodeAffinity(PreFilter, VectorFilter, Score, NoArgs):
    NAME = NAME

    def __init__(self) -> None:
        self.cache = SelectorMasks()

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        constrained = (
            workload.node_selector.requirements or workload.required_terms is not None or workload.preferred_terms
        )
        return SUCCESS if constrained else SKIP

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        selector, affinity = required_masks(workload, snapshot.nodes, self.cache)
        passed = selector & affinity
        if not explain:
            return NodeVerdict(passed)
        return NodeVerdict(passed, (ReasonMask(SELECTOR_REASON, ~selector), ReasonMask(AFFINITY_REASON, ~affinity)))

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        """Sum of the weights of matching preferred terms, scaled so the best node scores 100."""
        raw = np.zeros(slots.size, dtype=np.float64)
        for preferred in workload.preferred_terms:
            raw += preferred.weight * self.cache.mask(preferred.term, snapshot.nodes)[slots]
        top = float(raw.max(initial=0.0))
        return raw * (100.0 / top) if top > 0 else raw
