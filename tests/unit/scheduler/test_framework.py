"""Framework: extension-point order, skipping, per-node filters on survivors, reserve, explanations."""

from __future__ import annotations

from collections import Counter

import numpy as np

from scheduler.framework.cycle_state import CycleState
from scheduler.framework.explain import Explanation
from scheduler.framework.interfaces import Filter, NoArgs, Reserve
from scheduler.framework.runtime import Framework
from scheduler.framework.status import SUCCESS, Code, Status
from scheduler.plugins import REGISTRY
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo
from tests.unit.scheduler.builders import make_node, make_pod


class OddSlotsOnly(Filter, NoArgs):
    """A per-node filter (the Python path) that records which slots it was asked about."""

    NAME = "OddSlotsOnly"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slot: int) -> Status:
        self.seen.append(slot)
        return SUCCESS if slot % 2 else Status.unschedulable(self.NAME, "slot is even", "really even")


class Recorder(Reserve, NoArgs):
    NAME = "Recorder"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[str] = []

    def reserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> Status:
        self.calls.append(f"reserve {node}")
        return Status.unschedulable(self.NAME, "no") if self.fail else SUCCESS

    def unreserve(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, node: str) -> None:
        self.calls.append(f"unreserve {node}")


def snapshot_of(*names: str, cpu: str = "4") -> ClusterSnapshot:
    snapshot = ClusterSnapshot()
    for name in names:
        snapshot.upsert_node(make_node(name).cpu(cpu).facts())
    return snapshot


def test_per_node_filters_run_only_on_nodes_the_vector_filters_left() -> None:
    snapshot = snapshot_of("n0", "n1", "n2", "n3")
    snapshot.upsert_node(make_node("n0").cpu("0").facts())
    odd = OddSlotsOnly()
    framework = Framework("t", [(NodeResourcesFit(), 1.0), (odd, 1.0)])
    decision = framework.schedule(make_pod().info(), snapshot)
    assert decision.node in ("n1", "n3")
    assert 0 not in odd.seen
    odd.seen.clear()
    snapshot.upsert_node(make_node("n1").cpu("0").facts())
    snapshot.upsert_node(make_node("n3").cpu("0").facts())
    decision = framework.schedule(make_pod().info(), snapshot)
    assert decision.explanation == Explanation(
        4, Counter({"insufficient cpu": 3, "slot is even": 1, "really even": 1}), resolvable=True
    )


def test_reserve_failure_unreserves_earlier_plugins_in_reverse() -> None:
    first, second = Recorder(), Recorder(fail=True)
    framework = Framework("t", [(first, 1.0), (second, 1.0)])
    status = framework.reserve(CycleState(), make_pod().info(), snapshot_of("a"), "a")
    assert status.code is Code.UNSCHEDULABLE
    assert first.calls == ["reserve a", "unreserve a"]
    assert second.calls == ["reserve a"]


def test_explanation_message_orders_by_count_then_reason() -> None:
    explanation = Explanation(
        5000,
        Counter({"os mismatch": 1850, "insufficient memory": 3100, "node(s) had untolerated taint {gpu: true}": 50}),
    )
    assert explanation.message() == (
        "0/5000 nodes are available: 3100 insufficient memory, 1850 os mismatch, "
        "50 node(s) had untolerated taint {gpu: true}."
    )


def test_explanation_of_an_empty_cluster() -> None:
    assert Explanation(0).message() == "0/0 nodes are available: no nodes registered."


def test_prefilter_skip_leaves_filter_and_score_out() -> None:
    from scheduler.framework.profile import DEFAULT_PROFILE, build_framework

    framework = build_framework(DEFAULT_PROFILE, REGISTRY)
    state = CycleState()
    assert framework.pre_filter(state, make_pod().info(), snapshot_of("a")) is None
    assert {"Hypervisor", "WindowsIsolation", "NodeAffinity", "PodTopologySpread"} <= state.skipped


def test_absent_node_slots_never_pass() -> None:
    snapshot = snapshot_of("a", "b")
    snapshot.remove_node("a")
    framework = Framework("t", [(NodeResourcesFit(), 1.0)])
    feasible = framework.find_feasible(CycleState(), make_pod().info(), snapshot, explain=True)
    assert np.flatnonzero(feasible.feasible).tolist() == [snapshot.nodes.index["b"]]
