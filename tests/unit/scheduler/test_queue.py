"""SchedulingQueue: priority then arrival, backoff, and event-driven wake-ups (no polling)."""

from __future__ import annotations

from scheduler.queue import NODE_EVENTS, ClusterEvent, SchedulingQueue
from tests.unit.scheduler.builders import make_pod


def test_higher_priority_first_then_arrival_order() -> None:
    queue = SchedulingQueue()
    for name, priority in (("low-1", 0), ("high", 10), ("low-2", 0), ("mid", 5)):
        queue.add(make_pod(name).priority(priority).info())
    order = [info.name for info in queue.pop_batch(0.0, 10)]
    assert order == ["high", "mid", "low-1", "low-2"]


def test_unschedulable_waits_for_a_relevant_event_not_for_time() -> None:
    queue = SchedulingQueue()
    queue.add(make_pod("p").info())
    assert queue.pop(0.0) is not None
    queue.unschedulable("Pod/default/p", 0.0, NODE_EVENTS)
    assert queue.pop(1000.0) is None
    assert queue.on_event(ClusterEvent.WORKLOAD_DELETED, 1000.0) == 0
    assert queue.pop(1000.0) is None
    assert queue.on_event(ClusterEvent.NODE_ADDED, 1000.0) == 1
    info = queue.pop(1000.0)
    assert info is not None and info.name == "p"


def test_woken_early_it_honours_its_backoff_while_others_are_ready() -> None:
    queue = SchedulingQueue(initial_backoff=1.0)
    queue.add(make_pod("p").info())
    queue.pop(0.0)
    queue.unschedulable("Pod/default/p", 0.0)
    queue.on_event(ClusterEvent.NODE_CHANGED, 0.5)
    assert queue.place_of("Pod/default/p") == "backoff"
    queue.add(make_pod("q").info())
    queue.add(make_pod("r").info())
    assert [info.name for info in queue.pop_batch(0.9, 10)] == ["q", "r", "p"], "p only once nothing else is ready"


def test_an_idle_queue_takes_an_event_woken_workload_before_its_backoff_ends() -> None:
    queue = SchedulingQueue(initial_backoff=1.0)
    queue.add(make_pod("p").info())
    queue.pop(0.0)
    queue.unschedulable("Pod/default/p", 0.0)
    assert queue.pop(0.02) is None, "unschedulable waits for an event, never for time"
    queue.on_event(ClusterEvent.WORKLOAD_DELETED, 0.02)  # a deletion freed room 20 ms later
    info = queue.pop(0.02)
    assert info is not None and info.name == "p"
    assert queue.place_of("Pod/default/p") == "inflight"


def test_backoff_after_an_error_is_waited_out_even_when_idle() -> None:
    queue = SchedulingQueue(initial_backoff=1.0)
    queue.add(make_pod("p").info())
    queue.pop(0.0)
    queue.backoff("Pod/default/p", 0.0)  # a bind conflict or an API error
    assert queue.pop(0.9) is None
    assert queue.pop(1.0) is not None


def test_a_workload_woken_then_failed_by_an_error_waits_its_error_backoff() -> None:
    queue = SchedulingQueue(initial_backoff=1.0)
    queue.add(make_pod("p").info())
    queue.pop(0.0)
    queue.unschedulable("Pod/default/p", 0.0)
    queue.on_event(ClusterEvent.NODE_ADDED, 0.1)
    assert queue.pop(0.1) is not None
    queue.backoff("Pod/default/p", 0.1)  # the early attempt's bind failed
    assert queue.pop(0.2) is None, "the stale early entry does not let it out"


def test_woken_after_its_backoff_it_is_active_at_once() -> None:
    queue = SchedulingQueue(initial_backoff=1.0)
    queue.add(make_pod("p").info())
    queue.pop(0.0)
    queue.unschedulable("Pod/default/p", 0.0)
    queue.on_event(ClusterEvent.NODE_CHANGED, 2.0)
    assert queue.place_of("Pod/default/p") == "active"


def test_backoff_grows_exponentially_and_is_capped() -> None:
    queue = SchedulingQueue(initial_backoff=1.0, max_backoff=4.0)
    queue.add(make_pod("p").info())
    deadlines = []
    now = 0.0
    for _ in range(5):
        assert queue.pop(now) is not None
        queue.backoff("Pod/default/p", now)
        wakeup = queue.next_wakeup()
        assert wakeup is not None
        deadlines.append(wakeup - now)
        assert queue.pop(wakeup - 0.001) is None
        now = wakeup
    assert deadlines == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_an_event_during_the_attempt_is_not_lost() -> None:
    queue = SchedulingQueue(initial_backoff=1.0)
    queue.add(make_pod("p").info())
    queue.pop(0.0)
    queue.on_event(ClusterEvent.NODE_ADDED, 0.1)
    queue.unschedulable("Pod/default/p", 0.2, NODE_EVENTS)
    assert queue.place_of("Pod/default/p") == "backoff"


def test_updates_and_removals() -> None:
    queue = SchedulingQueue()
    queue.add(make_pod("p").info())
    queue.add(make_pod("p").priority(3).info())
    assert len(queue) == 1
    queue.remove("Pod/default/p")
    assert queue.pop(0.0) is None
    assert queue.counts() == {"active": 0, "backoff": 0, "unschedulable": 0, "inflight": 0}
