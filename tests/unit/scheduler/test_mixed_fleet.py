"""The MixedFleet benchmark case, scaled down: every decision obeys the rules checked one by one
with the pure helpers, and no node ends up over-committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from atoll.windows import can_run
from scheduler.core import Placement, Scheduler, Unschedulable
from scheduler.framework.profile import DEFAULT_PROFILE, build_framework
from scheduler.plugins import REGISTRY
from scheduler.plugins.hypervisor import accepts
from scheduler.plugins.taint_toleration import HARD_EFFECTS, untolerated
from scheduler.queue import SchedulingQueue
from scheduler.snapshot import ClusterSnapshot
from tests.unit.scheduler.fleet import node_facts, workload_infos

CASES = Path(__file__).resolve().parents[2] / "bench" / "scheduler_cases.yaml"


def scaled(groups: list[dict[str, Any]], divisor: int) -> list[dict[str, Any]]:
    return [{**g, "count": max(1, int(g["count"]) // divisor)} for g in groups]


def test_mixed_fleet_decisions_obey_every_rule() -> None:
    case = yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]["MixedFleet"]
    snapshot = ClusterSnapshot()
    for facts in node_facts(scaled(case["nodes"], 25)):
        snapshot.upsert_node(facts)
    queue = SchedulingQueue()
    scheduler = Scheduler(build_framework(DEFAULT_PROFILE, REGISTRY), snapshot, queue)
    workloads = workload_infos(scaled(case["workloads"], 25))
    for info in workloads:
        queue.add(info)
    outcomes = scheduler.next_batch(0.0, len(workloads))
    placements = [o for o in outcomes if isinstance(o, Placement)]
    refused = [o for o in outcomes if isinstance(o, Unschedulable)]
    assert len(placements) + len(refused) == len(workloads)
    assert {o.workload.memory for o in refused} == {2**40}, "only the 1Ti pods fit nowhere"
    for placement in placements:
        info = placement.workload
        node = snapshot.nodes.facts[snapshot.nodes.index[placement.node]]
        assert node is not None
        assert not untolerated(node.taints, info.tolerations, HARD_EFFECTS)
        assert info.node_selector.matches(node.labels)
        if info.is_vm:
            assert accepts(node.hypervisor_type, node.guest_os, info.hypervisor_type, info.guest_os) == ()
            continue
        assert info.os == node.os
        if info.isolation is not None:
            assert info.isolation.value in node.isolation
            if info.image_build is not None:
                assert node.windows_build is not None
                assert can_run(node.windows_build, info.image_build, info.isolation).runnable
    nodes = snapshot.nodes
    assert np.all(nodes.used_cpu <= nodes.alloc_cpu)
    assert np.all(nodes.used_mem <= nodes.alloc_mem)
    assert np.all(nodes.used_pods <= nodes.alloc_pods)
