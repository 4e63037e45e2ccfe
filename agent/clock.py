"""Time as a dependency: every timer of the agent and the simulated drivers goes through a Clock.

``LoopClock`` is real time on the running event loop; ``ManualClock`` is virtual time that only
moves when a test calls ``advance``, so back-off of minutes is tested in microseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None:
        """Prevent the callback from running; a no-op once it ran."""


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time in epoch seconds (what status timestamps record)."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` on the event loop after ``delay`` seconds of this clock's time."""

    async def sleep(self, delay: float) -> None:
        """Return after ``delay`` seconds of this clock's time."""


class LoopClock:
    """Real time: ``time.time`` and the running loop's ``call_later``."""

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
    """Virtual time starting at ``start``; callbacks due run in time order inside ``advance``."""

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
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        self.call_later(delay, wake)
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, running every callback that falls due, in order."""
        target = self._now + seconds
        while self._queue and self._queue[0][0] <= target:
            due, _, timer, callback = heapq.heappop(self._queue)
            self._now = max(self._now, due)
            if not timer.cancelled:
                callback()
        self._now = target

    @property
    def pending(self) -> int:
        """Timers not yet run or cancelled (tests use it to check nothing is left scheduled)."""
        return sum(1 for _, _, timer, _ in self._queue if not timer.cancelled)
