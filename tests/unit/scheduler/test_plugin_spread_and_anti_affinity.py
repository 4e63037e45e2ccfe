"""PodTopologySpread (maxSkew, DoNotSchedule / ScheduleAnyway) and WorkloadAntiAffinity."""

from __future__ import annotations

from scheduler.core import Placement, Unschedulable
from tests.unit.scheduler.builders import make_node, make_pod
from tests.unit.scheduler.harness import Harness


def zones(*names: str) -> Harness:
    return Harness(*(make_node(f"n-{z}").labels(zone=z).cpu("64").memory("256Gi") for z in names))


def test_hard_spread_keeps_skew_within_max_skew() -> None:
    harness = zones("a", "b", "c")
    placed = []
    for i in range(9):
        outcome = harness.place(make_pod(f"web-{i}").labels(app="web").spread("zone", 1, app="web"))
        assert isinstance(outcome, Placement)
        placed.append(outcome.node)
    assert sorted(placed.count(n) for n in ("n-a", "n-b", "n-c")) == [3, 3, 3]


def test_hard_spread_refuses_the_node_that_would_exceed_max_skew() -> None:
    harness = zones("a", "b")
    harness.bind(make_pod("w1").labels(app="web"), "n-a")
    assert harness.decide(make_pod("w2").labels(app="web").spread("zone", 1, app="web")).node == "n-b"


def test_skew_and_resource_reasons_are_counted_together() -> None:
    harness = Harness(make_node("n-a").labels(zone="a").cpu("64"), make_node("n-b").labels(zone="b").cpu("1"))
    harness.bind(make_pod("w1").labels(app="web"), "n-a")
    decision = harness.decide(make_pod("w2").labels(app="web").spread("zone", 1, app="web").requests(cpu="2"))
    assert decision.explanation is not None
    assert decision.explanation.message() == (
        "0/2 nodes are available: 1 insufficient cpu, 1 node(s) didn't match pod topology spread constraints."
    )


def test_only_domains_the_pod_may_use_count_for_skew() -> None:
    harness = zones("a", "b")
    harness.bind(make_pod("w1").labels(app="web"), "n-a")
    pod = make_pod("w2").labels(app="web").spread("zone", 1, app="web").node_selector(zone="a")
    assert harness.decide(pod).node == "n-a"


def test_missing_topology_label_is_reported() -> None:
    harness = Harness(make_node("bare"))
    decision = harness.decide(make_pod().labels(app="web").spread("zone", 1, app="web"))
    assert decision.explanation is not None
    assert decision.explanation.message() == (
        "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label)."
    )


def test_soft_spread_prefers_the_emptiest_domain_but_never_refuses() -> None:
    harness = zones("a", "b")
    for i in range(3):
        harness.bind(make_pod(f"w{i}").labels(app="web"), "n-a")
    assert harness.decide(make_pod("new").labels(app="web").spread("zone", 1, hard=False, app="web")).node == "n-b"
    harness.snapshot.upsert_node(make_node("n-b").labels(zone="b").cpu("0").facts())
    assert harness.decide(make_pod("new").labels(app="web").spread("zone", 1, hard=False, app="web")).node == "n-a"


def test_anti_affinity_keeps_replicas_apart() -> None:
    harness = zones("a", "b")
    first = harness.place(make_pod("db-0").labels(app="db").anti_affinity("zone", app="db"))
    second = harness.place(make_pod("db-1").labels(app="db").anti_affinity("zone", app="db"))
    third = harness.place(make_pod("db-2").labels(app="db").anti_affinity("zone", app="db"))
    assert isinstance(first, Placement) and isinstance(second, Placement)
    assert {first.node, second.node} == {"n-a", "n-b"}
    assert isinstance(third, Unschedulable)
    assert "2 node(s) didn't satisfy workload anti-affinity rules" in third.message


def test_anti_affinity_is_symmetric() -> None:
    harness = zones("a", "b")
    harness.bind(make_pod("lonely").labels(app="lonely").anti_affinity("zone", app="web"), "n-a")
    assert harness.decide(make_pod("web").labels(app="web")).node == "n-b"


def test_anti_affinity_is_namespaced() -> None:
    harness = zones("a")
    harness.bind(make_pod("db-0", namespace="other").labels(app="db"), "n-a")
    assert harness.decide(make_pod("db-1").labels(app="db").anti_affinity("zone", app="db")).node == "n-a"
