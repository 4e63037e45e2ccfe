"""One rule for programming the kernel from watched objects: coalesce bursts of changes.

A change only *requests* a sync; one task runs the syncs, never two at once. Requests that
arrive while a sync runs are answered by one more sync afterwards, however many there were, so
a storm of watch events costs a few transactions rather than one each (kube-proxy's
BoundedFrequencyRunner). ``min_interval`` spaces the starts of two syncs; the first change after
a quiet period is synced at once. A sync that raises is logged and requested again after
``retry_interval``, doubled after each further failure up to ``max_retry_interval`` (a missing
``nft`` binary costs one line per half minute, not per second); a ``resync_interval`` requests
one periodically even without changes, so state someone else changed behind the agent's back is
put right.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from atoll.clock import Clock, Timer

log = logging.getLogger(__name__)


class WatchedInputs:
    """The inputs of one kernel programmer, fed by watches: ``on_change`` (set by the owner to the
    loop's ``request``) is called when they change; ``synced`` turns True once every watch they
    come from has listed (``mark_synced``), and a programmer writes nothing before that, so a
    restarted agent never removes state only because it has not seen its object yet."""

    def __init__(self) -> None:
        self.on_change: Callable[[], None] = lambda: None
        self._synced = False

    @property
    def synced(self) -> bool:
        return self._synced

    def mark_synced(self) -> None:
        if not self._synced:
            self._synced = True
            self.on_change()


class CoalescingSync:
    def __init__(self, name: str, sync: Callable[[], Awaitable[None]], clock: Clock, *,
                 min_interval: float = 0.0, retry_interval: float = 1.0, max_retry_interval: float = 30.0,
                 resync_interval: float | None = None) -> None:
        self.name = name
        self._sync = sync
        self._clock = clock
        self._min_interval = min_interval
        self._retry_interval = retry_interval
        self._max_retry_interval = max_retry_interval
        self._failures = 0  # consecutive
        self._resync_interval = resync_interval
        self._wanted = asyncio.Event()
        self._last_start: float | None = None
        self._timer: Timer | None = None
        self.syncs = 0  # completed syncs, successful or not (tests and the benchmark read it)

    def request(self) -> None:
        """Ask for a sync; cheap, never blocks, may be called from any callback on the loop."""
        self._wanted.set()

    @property
    def requested(self) -> bool:
        """A sync is requested and has not started yet."""
        return self._wanted.is_set()

    async def run(self) -> None:
        """Run syncs as requested until cancelled."""
        try:
            while True:
                await self._wanted.wait()
                if self._last_start is not None:
                    await self._clock.sleep(self._last_start + self._min_interval - self._clock.now())
                self._wanted.clear()
                self._last_start = self._clock.now()
                await self._sync_once()
        finally:
            self._cancel_timer()

    async def _sync_once(self) -> None:
        self._cancel_timer()
        delay = self._resync_interval
        try:
            await self._sync()
            self._failures = 0
        except Exception as err:  # any failure is retried; the loop must live on
            delay = min(self._retry_interval * 2 ** self._failures, self._max_retry_interval)
            self._failures += 1
            log.warning("%s: sync failed, retrying in %gs: %s", self.name, delay, err)
        finally:
            self.syncs += 1
        if delay is not None:
            self._timer = self._clock.call_later(delay, self.request)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
