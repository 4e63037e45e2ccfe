"""Time as a dependency: the agent, the drivers, the controllers, the scheduler and leader election
read time and wait through a Clock, never ``time.time`` or ``asyncio.sleep`` of their own, so that
tests run minutes of back-off, grace periods and lease expiry in microseconds.

The time base, for every Clock: ``now()`` is seconds since the Unix epoch (a float), the same
number that status and Event timestamps record (``to_timestamp``). Durations are differences of two ``now()``
readings on one Clock; ``sleep`` and ``call_later`` wait that many seconds of the same Clock.

- ``SystemClock``: real time. ``now()`` is ``time.time()``; waits run on the event loop.
- ``ManualClock``: virtual time for tests. It moves only when the test says so: ``advance``
  (synchronous: runs the callbacks that fall due, in time order; coroutines woken from ``sleep``
  run when the test next yields) or ``advance_and_settle`` (wakes sleepers one deadline at a time
  and lets them run, so a sleeper that sleeps again before the target also wakes).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Protocol

from google.protobuf.timestamp_pb2 import Timestamp


class Timer(Protocol):
    def cancel(self) -> None:
        """Prevent the callback from running; a no-op once it ran."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` on the event loop after ``delay`` seconds of this clock's time."""

    async def sleep(self, delay: float) -> None:
        """Return after ``delay`` seconds of this clock's time; 0 or less only yields to the loop."""


class SystemClock:
    """Real time: ``time.time()``, and the running loop's ``call_later`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay))


class _ManualTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """Virtual time starting at ``start``; see the module docstring for ``advance`` and
    ``advance_and_settle``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._queue: list[tuple[float, int, _ManualTimer, Callable[[], None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = _ManualTimer()
        heapq.heappush(self._queue, (self._now + max(0.0, delay), next(self._order), timer, callback))
        return timer

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_later(delay, wake)
        try:
            await future
        finally:
            timer.cancel()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, running every callback that falls due, in order."""
        target = self._now + seconds
        while self._run_next_due(target):
            pass
        self._now = target

    async def advance_and_settle(self, seconds: float, *, settle_turns: int = 20) -> None:
        """Move time forward by ``seconds`` one deadline at a time, letting woken coroutines run
        (``settle_turns`` loop turns) after each, so a test can assert right after."""
        target = self._now + seconds
        while self._run_next_due(target):
            await settle(settle_turns)
        self._now = target
        await settle(settle_turns)

    def _run_next_due(self, target: float) -> bool:
        """Runs the earliest live callback due at or before ``target``; False when there is none."""
        while self._queue and self._queue[0][0] <= target:
            due, _, timer, callback = heapq.heappop(self._queue)
            if timer.cancelled:
                continue
            self._now = max(self._now, due)
            callback()
            return True
        return False

    @property
    def pending(self) -> int:
        """Timers and sleeps not yet due or cancelled (tests check nothing is left scheduled)."""
        return sum(1 for _, _, timer, _ in self._queue if not timer.cancelled)


def to_timestamp(seconds: float) -> Timestamp:
    """A Clock reading (seconds since the epoch) as the protobuf Timestamp that objects record."""
    stamp = Timestamp()
    set_timestamp(stamp, seconds)
    return stamp


def set_timestamp(target: Timestamp, seconds: float) -> None:
    """Sets ``target`` (a Timestamp field of a message) to the Clock reading ``seconds``, in place.

    Whole seconds and the fraction are converted apart: ``int(seconds * 1e9)`` would lose up to a
    few hundred nanoseconds to float rounding at today's epoch values. Cheap enough for the API
    server's every create and bind (no datetime on the way)."""
    whole = math.floor(seconds)
    nanos = round((seconds - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    target.seconds, target.nanos = whole, nanos


async def settle(turns: int = 20) -> None:
    """Let ready coroutines run for ``turns`` loop iterations (no virtual or real time passes)."""
    for _ in range(turns):
        await asyncio.sleep(0)
