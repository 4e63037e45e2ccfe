"""Preemption planning: for a workload that fits nowhere, pick one node and the fewest,
lowest-priority victims whose eviction makes it fit.

1. Nodes passing every filter except NodeResourcesFit (victims are chosen for resources;
   other constraints are evaluated with the victims still present, which is conservative).
2. Vectorized: nodes where free + everything held by lower-priority, non-protected workloads
   would fit the preemptor.
3. Per candidate (the MAX_CANDIDATES closest to fitting): start from "evict all lower-priority
   workloads", then reprieve them from the highest priority down (smallest first within one
   priority) while the preemptor still fits; the rest are the victims.
4. Best node: lowest highest-victim-priority, then fewest victims, then lowest priority sum,
   then node name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scheduler.arrays import FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.runtime import Framework
from scheduler.plugins.node_resources_fit import NAME as FIT
from scheduler.plugins.node_resources_fit import memory_request, shortages
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

MAX_CANDIDATES = 64


@dataclass(frozen=True, slots=True)
class PreemptionPlan:
    """Evict ``victims`` from ``node`` so that the preemptor fits there."""

    node: str
    victims: tuple[WorkloadInfo, ...]

    def describe(self) -> str:
        return f"preempting {len(self.victims)} lower-priority workload(s) on node {self.node}"


def plan_preemption(
    framework: Framework, snapshot: ClusterSnapshot, workload: WorkloadInfo, state: CycleState | None = None
) -> PreemptionPlan | None:
    """The best plan, or None when evicting lower-priority workloads cannot help."""
    table, nodes = snapshot.workloads, snapshot.nodes
    lower = table.alive & (table.node >= 0) & (table.priority < workload.priority) & ~table.protected
    victims_idx = np.flatnonzero(lower)
    if victims_idx.size == 0:
        return None
    state = state or CycleState()
    if framework.pre_filter(state, workload, snapshot) is not None:
        return None
    others = framework.find_feasible(state, workload, snapshot, explain=False, without=frozenset({FIT})).feasible
    where = table.node[victims_idx]
    cap = nodes.capacity
    extra_cpu = np.bincount(where, weights=table.cpu[victims_idx], minlength=cap).astype(np.int64)
    extra_mem = np.bincount(where, weights=table.mem[victims_idx], minlength=cap).astype(np.int64)
    extra_eph = np.bincount(where, weights=table.eph[victims_idx], minlength=cap).astype(np.int64)
    extra_pods = np.bincount(where, minlength=cap).astype(np.int64)
    extra_extended = {
        name: np.bincount(where, weights=_held(snapshot, victims_idx, name), minlength=cap).astype(np.int64)
        for name, _ in workload.extended
    }
    possible = (
        others
        & (extra_pods > 0)
        & ~shortages(
            nodes,
            workload,
            extra_cpu=extra_cpu,
            extra_mem=extra_mem,
            extra_pods=extra_pods,
            extra_eph=extra_eph,
            extra_extended=extra_extended,
        ).any()
    )
    candidates = np.flatnonzero(possible)
    if candidates.size == 0:
        return None
    if candidates.size > MAX_CANDIDATES:
        candidates = candidates[np.argsort(_deficit(snapshot, workload)[candidates], kind="stable")[:MAX_CANDIDATES]]
    best: tuple[tuple[int, int, int, str], PreemptionPlan] | None = None
    for slot in candidates:
        victims = _victims_on(snapshot, workload, int(slot))
        if victims is None:
            continue
        plan = PreemptionPlan(nodes.names[int(slot)], victims)
        rank = (max(v.priority for v in victims), len(victims), sum(v.priority for v in victims), plan.node)
        if best is None or rank < best[0]:
            best = (rank, plan)
    return None if best is None else best[1]


def _deficit(snapshot: ClusterSnapshot, workload: WorkloadInfo) -> FloatArray:
    nodes = snapshot.nodes
    cpu_short = (workload.cpu_millis - nodes.free_cpu) * nodes.inv_alloc_cpu
    mem_short = (memory_request(workload, nodes) - nodes.free_mem) * nodes.inv_alloc_mem
    return np.maximum(cpu_short, mem_short)


def _victims_on(snapshot: ClusterSnapshot, workload: WorkloadInfo, slot: int) -> tuple[WorkloadInfo, ...] | None:
    table, nodes = snapshot.workloads, snapshot.nodes
    lower = [
        w
        for w in table.on_node.get(slot, ())
        if table.alive[w] and not table.protected[w] and table.priority[w] < workload.priority
    ]
    need_cpu, need_mem, need_eph = snapshot.charge_of(workload, slot)
    names = [name for name, _ in workload.extended]
    free = [
        int(nodes.free_cpu[slot]),
        int(nodes.free_mem[slot]),
        int(nodes.free_eph[slot]),
        int(nodes.free_pods[slot]),
        *(int(nodes.extended_alloc[name][slot] - nodes.extended_used[name][slot]) for name in names),
    ]

    def held(w: int) -> tuple[int, ...]:
        info = table.infos[w]
        extended = dict(info.extended) if info is not None else {}
        return (int(table.cpu[w]), int(table.mem[w]), int(table.eph[w]), 1, *(extended.get(n, 0) for n in names))

    for w in lower:
        free = [f + h for f, h in zip(free, held(w), strict=True)]
    need = (need_cpu, need_mem, need_eph, 1, *(count for _, count in workload.extended))
    if any(f < n for f, n in zip(free, need, strict=True)):
        return None
    # Reprieve from the highest priority down; within one priority, smallest first.
    order = sorted(lower, key=lambda w: (-int(table.priority[w]), int(table.cpu[w]) + int(table.mem[w] >> 20)))
    victims: list[int] = []
    for w in order:
        held_by_w = held(w)
        if all(f - h >= n for f, h, n in zip(free, held_by_w, need, strict=True)):
            free = [f - h for f, h in zip(free, held_by_w, strict=True)]
        else:
            victims.append(w)
    infos = [table.infos[w] for w in victims]
    return tuple(sorted((i for i in infos if i is not None), key=lambda i: (i.priority, i.key)))


def _held(snapshot: ClusterSnapshot, wslots: I64Array, name: str) -> FloatArray:
    """Units of extended resource ``name`` each workload in ``wslots`` holds (for bincount)."""
    infos = snapshot.workloads.infos
    return np.array(
        [dict(info.extended).get(name, 0) if (info := infos[w]) is not None else 0 for w in wslots],
        dtype=np.float64,
    )
