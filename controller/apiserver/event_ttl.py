"""Events expire: each is deleted ``ttl`` seconds after its last write (Kubernetes' --event-ttl,
one hour by default), so a busy cluster's Events do not grow the store without bound.

The expirer is one more watcher of the watch cache, on kind Event: every write of an Event
(re)starts its clock, as the etcd lease Kubernetes attaches on every write does. Events that
exist when the API server starts are timed from their ``last_timestamp`` (else their creation).
A deletion names the revision it was scheduled for, so an Event written again meanwhile is left
to the newer schedule. Events are records, not workloads: expiry removes them whatever their
finalizers, as a lease expiry does.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Iterable
from typing import Any

from atoll import kinds
from atoll.clock import Clock, SystemClock
from controller.apiserver import codec
from controller.apiserver.watch_cache import CachedEvent, WatchCache
from controller.store.protocol import ConflictError, KeyNotFoundError, Store

log = logging.getLogger(__name__)

DEFAULT_EVENT_TTL = 3600.0
EVENT = kinds.by_name("Event")
_DELETES_AT_ONCE = 256
_SEED_PAGE = 1000


class EventExpirer:
    """Call ``run()`` as a task; ``seed``, ``note`` and ``expire_due`` are its steps (tests drive them)."""

    def __init__(self, store: Store, cache: WatchCache, ttl: float, *, clock: Clock | None = None) -> None:
        self._store = store
        self._cache = cache
        self._ttl = ttl
        self._clock: Clock = clock or SystemClock()
        self._due: list[tuple[float, int, str]] = []  # (expires at, revision, key), a heap
        self.expired = 0

    async def run(self) -> None:
        """Seeds from the store, then follows Event writes and deletes what expires, until
        cancelled. A lost watch (the cache restarted, the store failed) starts it over."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event expiry lost its watch; starting over")
                self._due.clear()
                await asyncio.sleep(1.0)

    async def _follow(self) -> None:
        revision = await self.seed()
        async with self._cache.subscribe(EVENT, EVENT.prefix(""), revision) as subscription:
            while True:
                self.note(await subscription.next_batch(self._wait()))
                await self.expire_due()

    async def seed(self) -> int:
        """Schedules the Events already stored; returns the revision they were read at."""
        revision = await self._store.current_revision()
        prefix, start_after = EVENT.prefix(""), None
        while True:
            page = await self._store.range(prefix, start_after=start_after, limit=_SEED_PAGE, revision=revision)
            for kv in page.items:
                written = _written_at(codec.decode(EVENT, kv.value, kv.mod_revision))
                self._schedule(written + self._ttl, kv.mod_revision, kv.key)
            if not page.more:
                return revision
            start_after = page.items[-1].key

    def note(self, changes: Iterable[CachedEvent]) -> None:
        """Starts the clock of every Event written in ``changes`` (deletions need nothing)."""
        expires = self._clock.now() + self._ttl
        for change in changes:
            if not change.deleted:
                self._schedule(expires, change.revision, change.key)

    async def expire_due(self) -> int:
        """Deletes every Event whose time is up and that was not written since; returns how many."""
        now = self._clock.now()
        due: list[tuple[int, str]] = []
        while self._due and self._due[0][0] <= now:
            _, revision, key = heapq.heappop(self._due)
            due.append((revision, key))
        deleted = 0
        for start in range(0, len(due), _DELETES_AT_ONCE):
            chunk = due[start : start + _DELETES_AT_ONCE]
            outcomes = await asyncio.gather(*(self._delete(key, revision) for revision, key in chunk))
            deleted += sum(outcomes)
        self.expired += deleted
        return deleted

    def _schedule(self, expires: float, revision: int, key: str) -> None:
        heapq.heappush(self._due, (expires, revision, key))

    def _wait(self) -> float | None:
        """Seconds until the next expiry (None: nothing scheduled, wait for writes)."""
        if not self._due:
            return None
        return max(0.0, self._due[0][0] - self._clock.now())

    async def _delete(self, key: str, revision: int) -> bool:
        try:
            await self._store.delete(key, expected_revision=revision)
        except (ConflictError, KeyNotFoundError):
            return False  # written again (a newer schedule exists) or already gone
        return True


def _written_at(event: Any) -> float:
    """When ``event`` was last written, in seconds since the epoch, as far as its fields say."""
    stamp = event.last_timestamp if event.HasField("last_timestamp") else event.metadata.creation_timestamp
    return float(stamp.ToNanoseconds()) / 1e9
