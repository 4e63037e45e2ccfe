"""The one Clock (atoll.clock): the time base every component reads, and the virtual clock that
tests inject in its place."""

from __future__ import annotations

import asyncio
import time

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from atoll.clock import ManualClock, SystemClock, set_timestamp, to_timestamp


def test_the_system_clock_reads_seconds_since_the_epoch() -> None:
    before = time.time()
    assert before <= SystemClock().now() <= time.time()


async def test_system_clock_timers_and_sleeps_run_on_the_loop() -> None:
    clock = SystemClock()
    fired = asyncio.Event()
    clock.call_later(0, fired.set)
    await clock.sleep(0.001)
    assert fired.is_set()


def test_advance_runs_due_callbacks_in_time_order_and_skips_cancelled_ones() -> None:
    clock = ManualClock(start=100.0)
    seen: list[tuple[str, float]] = []
    clock.call_later(5, lambda: seen.append(("b", clock.now())))
    clock.call_later(2, lambda: seen.append(("a", clock.now())))
    clock.call_later(3, lambda: seen.append(("cancelled", clock.now()))).cancel()
    clock.call_later(9, lambda: seen.append(("later", clock.now())))
    clock.advance(6)
    assert seen == [("a", 102.0), ("b", 105.0)] and clock.now() == 106.0 and clock.pending == 1


async def test_advance_and_settle_wakes_a_sleeper_that_sleeps_again_before_the_target() -> None:
    clock = ManualClock(start=0.0)
    woke: list[float] = []

    async def sleeper() -> None:
        for _ in range(3):
            await clock.sleep(2)
            woke.append(clock.now())

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    await clock.advance_and_settle(5)
    assert woke == [2.0, 4.0] and clock.now() == 5.0
    await clock.advance_and_settle(1)
    assert woke == [2.0, 4.0, 6.0] and task.done()


async def test_a_cancelled_sleep_leaves_nothing_scheduled() -> None:
    clock = ManualClock()
    task = asyncio.create_task(clock.sleep(10))
    await asyncio.sleep(0)
    assert clock.pending == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock.pending == 0


async def test_sleeping_zero_only_yields() -> None:
    clock = ManualClock()
    await asyncio.wait_for(clock.sleep(0), 1)
    assert clock.pending == 0


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(1_700_000_000.25, (1_700_000_000, 250_000_000), id="a fraction converts without float loss"),
        pytest.param(0.0, (0, 0), id="the epoch"),
        pytest.param(-0.5, (-1, 500_000_000), id="before the epoch the nanos stay positive"),
    ],
)
def test_a_reading_becomes_the_timestamp_objects_record(seconds: float, expected: tuple[int, int]) -> None:
    stamp = to_timestamp(seconds)
    assert (stamp.seconds, stamp.nanos) == expected
    in_place = Timestamp()
    set_timestamp(in_place, seconds)
    assert in_place == stamp


def test_a_reading_just_below_a_whole_second_rounds_into_the_next() -> None:
    stamp = to_timestamp(1_700_000_000.9999999999)
    assert (stamp.seconds, stamp.nanos) == (1_700_000_001, 0)
