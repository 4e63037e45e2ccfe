"""Injected time for controllers: ``now()`` in seconds and ``sleep(seconds)``.

Controllers never read the wall clock or call ``asyncio.sleep`` for their own timing; they get a
Clock. ``SystemClock`` is real time; ``FakeClock`` only moves when a test calls ``advance``, which
wakes every sleeper whose deadline has come, so tests of 40 s grace periods take no real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Seconds since the epoch, and a sleep measured on the same clock."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time: ``time.time()`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """Time that moves only through ``advance``; sleepers wake in deadline order.

    ``sleep(0)`` (or negative) only yields to the event loop. ``advance`` is async because it lets
    woken coroutines run (several loop turns) before returning, so a test can assert right after.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    @property
    def sleepers(self) -> int:
        """How many sleeps are pending (cancelled ones included until their deadline passes)."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    async def advance(self, seconds: float, *, settle_turns: int = 20) -> None:
        """Move time forward by ``seconds``, waking sleepers whose deadline is reached one deadline
        at a time (so a sleeper woken at t1 that sleeps again until t2 <= target also wakes)."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not future.done():
                future.set_result(None)
            await settle(settle_turns)
        self._now = target
        await settle(settle_turns)


async def settle(turns: int = 20) -> None:
    """Let ready coroutines run for ``turns`` loop iterations (no real time passes)."""
    for _ in range(turns):
        await asyncio.sleep(0)


def to_datetime(seconds: float) -> datetime:
    """A Clock reading as an aware UTC datetime (for protobuf Timestamps)."""
    return datetime.fromtimestamp(seconds, UTC)
