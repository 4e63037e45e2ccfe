"""Preemption: one node, the fewest and lowest-priority victims, room held for the preemptor."""

from __future__ import annotations

from scheduler.core import Placement, Unschedulable
from scheduler.queue import ClusterEvent
from tests.unit.scheduler.builders import make_node, make_pod
from tests.unit.scheduler.harness import Harness


def full_cluster() -> Harness:
    harness = Harness(make_node("a").cpu("2"), make_node("b").cpu("2"))
    harness.bind(make_pod("a-low").requests(cpu="1").priority(1), "a")
    harness.bind(make_pod("a-mid").requests(cpu="1").priority(5), "a")
    harness.bind(make_pod("b-big").requests(cpu="2").priority(1), "b")
    return harness


def test_picks_the_node_needing_the_lowest_priority_victims() -> None:
    outcome = full_cluster().place(make_pod("vip").requests(cpu="1").priority(10))
    assert isinstance(outcome, Unschedulable) and outcome.preemption is not None
    # a needs only a-low (priority 1); b needs b-big (priority 1) too: fewest, then name.
    assert outcome.preemption.node == "a"
    assert [v.name for v in outcome.preemption.victims] == ["a-low"]
    assert outcome.message.endswith("preempting 1 lower-priority workload(s) on node a")


def test_prefers_fewer_victims() -> None:
    outcome = full_cluster().place(make_pod("vip").requests(cpu="2").priority(10))
    assert isinstance(outcome, Unschedulable) and outcome.preemption is not None
    assert outcome.preemption.node == "b"
    assert [v.name for v in outcome.preemption.victims] == ["b-big"]


def test_never_preempts_equal_or_higher_priority() -> None:
    outcome = full_cluster().place(make_pod("peer").requests(cpu="1").priority(1))
    assert isinstance(outcome, Unschedulable) and outcome.preemption is None


def test_never_preempts_for_unresolvable_reasons() -> None:
    harness = full_cluster()
    outcome = harness.place(make_pod("win").windows("process", "10.0.20348").priority(100))
    assert isinstance(outcome, Unschedulable) and outcome.preemption is None


def test_room_is_held_and_the_preemptor_placed_once_victims_are_gone() -> None:
    harness = full_cluster()
    outcome = harness.place(make_pod("vip").requests(cpu="1").priority(10))
    assert isinstance(outcome, Unschedulable) and outcome.preemption is not None
    other = harness.place(make_pod("sneaky").requests(cpu="1").priority(0))
    assert isinstance(other, Unschedulable), "nobody else may take the nominated room"
    again = harness.place(make_pod("vip2").requests(cpu="1").priority(10))
    assert isinstance(again, Unschedulable) and again.preemption is not None
    assert "Pod/default/a-low" not in {v.key for v in again.preemption.victims}, "victims are chosen once"
    for victim in outcome.preemption.victims:
        harness.snapshot.remove_workload(victim.key)
    harness.queue.on_event(ClusterEvent.WORKLOAD_DELETED, 1.0)
    popped = harness.queue.pop(10.0)
    assert popped is not None and popped.name == "vip"
    placed = harness.scheduler.decide(popped, 10.0)
    assert isinstance(placed, Placement) and placed.node == "a"
