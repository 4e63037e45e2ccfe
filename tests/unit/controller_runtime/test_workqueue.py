"""The work queue: de-duplication, one worker per key, delays on the injected clock, back-off."""

from __future__ import annotations

import asyncio

import pytest

from atoll.clock import ManualClock, settle
from controller.runtime.ratelimit import ExponentialBackoff, MaxOf, TokenBucket
from controller.runtime.reconciler import Result
from controller.runtime.reconciler_runner import ReconcilerRunner
from controller.runtime.workqueue import WorkQueue


async def test_a_key_added_many_times_is_handed_out_once() -> None:
    queue = WorkQueue(ManualClock())
    for _ in range(3):
        queue.add("a")
    queue.add("b")
    assert [await queue.get(), await queue.get()] == ["a", "b"]
    assert len(queue) == 0


async def test_a_key_added_while_being_processed_waits_for_done() -> None:
    queue = WorkQueue(ManualClock())
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")
    assert len(queue) == 0  # not handed to a second worker
    queue.done("a")
    assert await queue.get() == "a"


async def test_add_after_fires_when_the_clock_reaches_the_earliest_deadline() -> None:
    clock = ManualClock()
    queue = WorkQueue(clock)
    queue.add_after("a", 10)
    queue.add_after("a", 5)
    queue.add_after("a", 20)
    await settle()
    await clock.advance_and_settle(4)
    assert len(queue) == 0
    await clock.advance_and_settle(1)
    assert len(queue) == 1 and queue.delayed == 0
    await queue.shutdown()


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 0.005), (2, 0.01), (4, 0.04), (30, 300.0)],
    ids=["first retry waits 5 ms", "second doubles", "fourth is 40 ms", "capped at five minutes"],
)
def test_per_key_backoff_doubles_up_to_the_cap(failures: int, expected: float) -> None:
    backoff = ExponentialBackoff(0.005, 300.0)
    delays = [backoff.when("k") for _ in range(failures)]
    assert delays[-1] == pytest.approx(expected)
    assert backoff.when("other") == pytest.approx(0.005)
    backoff.forget("k")
    assert backoff.failures("k") == 0


def test_the_global_bucket_delays_retries_beyond_the_burst() -> None:
    clock = ManualClock()
    limiter = MaxOf(ExponentialBackoff(0.0, 0.0), TokenBucket(clock, rate=10.0, burst=3))
    delays = [limiter.when(f"k{i}") for i in range(5)]
    assert delays == pytest.approx([0, 0, 0, 0.1, 0.2])


async def test_shutdown_wakes_waiting_workers_with_none() -> None:
    queue = WorkQueue(ManualClock())
    waiting = asyncio.create_task(queue.get())
    await settle()
    await queue.shutdown()
    assert await waiting is None


class Recorder:
    name = "recorder"

    def __init__(self, clock: ManualClock, fail_first: int = 0) -> None:
        self.queue = WorkQueue(clock)
        self.active: set[str] = set()
        self.overlaps = 0
        self.calls: list[str] = []
        self.fail_first = fail_first

    async def reconcile(self, key: str) -> Result | None:
        if key in self.active:
            self.overlaps += 1
        self.active.add(key)
        self.calls.append(key)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.active.discard(key)
        if self.fail_first:
            self.fail_first -= 1
            raise RuntimeError("transient")
        return None


async def test_many_workers_never_reconcile_one_key_concurrently() -> None:
    clock = ManualClock()
    recorder = Recorder(clock)
    runner = ReconcilerRunner(recorder, workers=8)
    runner.start()
    for _ in range(50):
        for key in ("a", "b", "c"):
            recorder.queue.add(key)
        await asyncio.sleep(0)
    await settle(50)
    await runner.stop()
    assert recorder.overlaps == 0
    assert set(recorder.calls) == {"a", "b", "c"}


async def test_a_failing_reconcile_is_retried_after_its_backoff_and_then_forgotten() -> None:
    clock = ManualClock()
    recorder = Recorder(clock, fail_first=2)
    runner = ReconcilerRunner(recorder, workers=1)
    runner.start()
    recorder.queue.add("a")
    await settle()
    assert recorder.calls == ["a"]
    await clock.advance_and_settle(0.005)
    assert recorder.calls == ["a", "a"]
    await clock.advance_and_settle(0.009)
    assert recorder.calls == ["a", "a"]  # second back-off is 10 ms
    await clock.advance_and_settle(0.001)
    assert recorder.calls == ["a", "a", "a"]
    assert recorder.queue.failures("a") == 0
    await runner.stop()
