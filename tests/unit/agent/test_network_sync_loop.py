"""The coalescing sync loop that programs the kernel: a burst of changes costs few syncs, never
two at once; failures are retried with back-off; an idle loop still resyncs. Virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from agent.network.sync_loop import CoalescingSync
from atoll.clock import ManualClock, settle


class Recorder:
    """A sync that records when it ran; ``gate`` holds it open; ``failures`` makes the next N raise."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.started: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = 0

    async def sync(self) -> None:
        self.started.append(self.clock.now())
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("nft: Error: Could not process rule")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def recorder(clock: ManualClock) -> Recorder:
    return Recorder(clock)


async def running(loop: CoalescingSync) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(loop.run())
    yield task
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_storm_of_changes_during_a_sync_costs_one_more_sync(clock: ManualClock, recorder: Recorder) -> None:
    loop = CoalescingSync("t", recorder.sync, clock)
    async for _ in running(loop):
        recorder.gate.clear()
        loop.request()
        await settle()
        for _ in range(500):
            loop.request()
        recorder.gate.set()
        await settle()
        assert loop.syncs == 2
        assert len(recorder.started) == 2


async def test_nothing_runs_without_a_request(clock: ManualClock, recorder: Recorder) -> None:
    loop = CoalescingSync("t", recorder.sync, clock)
    async for _ in running(loop):
        await clock.advance_and_settle(3600)
        assert recorder.started == []


async def test_syncs_start_at_least_min_interval_apart_and_the_first_at_once(
        clock: ManualClock, recorder: Recorder) -> None:
    loop = CoalescingSync("t", recorder.sync, clock, min_interval=0.5)
    async for _ in running(loop):
        start = clock.now()
        loop.request()
        await settle()
        loop.request()
        await clock.advance_and_settle(0.4)
        assert recorder.started == [start]
        await clock.advance_and_settle(0.1)
        assert recorder.started == [start, start + 0.5]


async def test_a_failed_sync_is_retried_with_doubling_back_off(clock: ManualClock, recorder: Recorder) -> None:
    loop = CoalescingSync("t", recorder.sync, clock, retry_interval=1.0, max_retry_interval=3.0)
    recorder.failures = 4
    async for _ in running(loop):
        start = clock.now()
        loop.request()
        await settle()
        await clock.advance_and_settle(20)
        assert [t - start for t in recorder.started] == [0, 1, 3, 6, 9]
        await clock.advance_and_settle(3600)
        assert len(recorder.started) == 5, "no retries once a sync succeeded"


async def test_an_idle_loop_resyncs_periodically(clock: ManualClock, recorder: Recorder) -> None:
    loop = CoalescingSync("t", recorder.sync, clock, resync_interval=30)
    async for _ in running(loop):
        start = clock.now()
        loop.request()
        await settle()
        await clock.advance_and_settle(95)
        assert [t - start for t in recorder.started] == [0, 30, 60, 90]


async def test_cancelling_the_loop_leaves_no_timer_behind(clock: ManualClock, recorder: Recorder) -> None:
    loop = CoalescingSync("t", recorder.sync, clock, resync_interval=30)
    async for _ in running(loop):
        loop.request()
        await settle()
    assert clock.pending == 0
