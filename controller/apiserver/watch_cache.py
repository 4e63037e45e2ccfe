"""One store watch for the whole API server, fanned out to every client watch.

The cache follows the store from the revision it started at and keeps the most recent events in
a ring buffer. A client watch from a revision still covered by the buffer is served from memory;
an older one falls back to a direct store watch (which fails with GoneError when compacted).
Events are encoded once (from their stored bytes, wire.watch_event) and decoded at most once
(when a selector or a server-side follower asks), however many watchers receive them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from atoll import kinds
from atoll.kinds import Kind
from atoll.watch_events import DELETED
from controller.apiserver import codec, wire
from controller.apiserver.errors import GoneError, UnavailableError
from controller.apiserver.kind_hooks import LATEST_NOT_KEPT
from controller.apiserver.metrics import OBJECTS
from controller.apiserver.namespaces import NAMESPACE, NamespaceIndex
from controller.store.protocol import CompactedError, EventType, Store, WatchEvent

log = logging.getLogger(__name__)

DEFAULT_BUFFER_EVENTS = 20_000
# A watcher this many events behind is cut off and told to relist (as Kubernetes does).
DEFAULT_MAX_BACKLOG = 50_000


@dataclass(slots=True)
class CachedEvent:
    """A store event decoded once; ``new`` is the object after the change (for DELETE: as deleted)."""

    revision: int
    kind: Kind
    key: str
    deleted: bool
    value: bytes
    prev_value: bytes | None
    _new: Any = None
    _old: Any = None
    _encoded: dict[str, bytes] | None = None  # made on first use: most events reach no watcher

    @property
    def new(self) -> Any:
        if self._new is None:
            self._new = codec.decode(self.kind, self.value, self.revision)
        return self._new

    @property
    def old(self) -> Any:
        if self._old is None and self.prev_value is not None:
            self._old = codec.decode(self.kind, self.prev_value, self.revision)
        return self._old

    def encoded(self, event_type: str) -> bytes:
        """Serialized ``WatchEvent`` of this change as ``event_type``, memoized."""
        return self._encode(event_type, previous=False)

    def encoded_left(self) -> bytes:
        """Serialized DELETED for a watcher the object stopped matching: it carries the object as
        that watcher last saw it (before this change), at this revision, as Kubernetes does, so a
        watcher that routes by a field (a hollow fleet by spec.nodeName) finds the right consumer."""
        return self._encode(DELETED, previous=True)

    def _encode(self, event_type: str, *, previous: bool) -> bytes:
        if self._encoded is None:
            self._encoded = {}
        memo_key = f"{event_type}-previous" if previous else event_type
        data = self._encoded.get(memo_key)
        if data is None:
            stored = self.prev_value if previous else self.value
            assert stored is not None, "encoded_left of a change with no previous version"
            data = self._encoded[memo_key] = wire.watch_event(event_type, self.kind, stored, self.revision)
        return data


def cached_event(event: WatchEvent) -> CachedEvent | None:
    kind = kinds.kind_of_key(event.kv.key)
    if kind is None:
        return None
    return CachedEvent(
        revision=event.kv.mod_revision,
        kind=kind,
        key=event.kv.key,
        deleted=event.type is EventType.DELETE,
        value=event.kv.value,
        prev_value=event.prev_value,
    )


class Subscription:
    """Events for one client watch: batches of CachedEvents with revision > ``after``, in order.

    A deque and one waiter future rather than an asyncio.Queue under ``wait_for``: every event
    wakes every watcher, and ``wait_for`` costs a task and a timer per wake-up (Python 3.11)."""

    def __init__(self, prefix: str, after: int, max_backlog: int) -> None:
        self.prefix = prefix
        self.after = after
        self._pending: deque[CachedEvent | Exception] = deque()
        self._waiter: asyncio.Future[None] | None = None
        # One timer at a time, re-armed only when it fires early or a shorter wait comes: not a
        # timer per wake-up (watchers wait with a bookmark timeout and wake on every event).
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._max_backlog = max_backlog
        self._closed = False

    def offer(self, event: CachedEvent) -> None:
        if self._closed or event.revision <= self.after or not event.key.startswith(self.prefix):
            return
        if len(self._pending) >= self._max_backlog:
            self.fail(GoneError("watch fell too far behind; list again and watch from the list's revision"))
            return
        self._pending.append(event)
        self._wake()

    def fail(self, error: Exception) -> None:
        if not self._closed:
            self._closed = True
            self._pending.append(error)
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_batch(self, timeout: float | None) -> list[CachedEvent]:
        """Every event ready now (waiting up to ``timeout`` for the first); [] on timeout."""
        if not self._pending:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            if timeout is not None:
                self._arm(loop, loop.time() + timeout)
            try:
                await waiter
            finally:
                self._waiter = None
            if not self._pending:
                return []  # the timeout
        batch: list[CachedEvent] = []
        pending = self._pending
        while pending:
            item = pending.popleft()
            if isinstance(item, Exception):
                if batch:
                    pending.appendleft(item)  # deliver what came before the failure first
                    return batch
                raise item
            batch.append(item)
        return batch

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self._deadline = deadline
        if self._timer is not None and self._timer.when() <= deadline:
            return  # it fires first and re-arms for the rest
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(deadline, self._on_timer, loop)

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # not waiting: the next wait arms its own deadline
        if loop.time() >= self._deadline:
            waiter.set_result(None)
        else:
            self._timer = loop.call_at(self._deadline, self._on_timer, loop)

    def close(self) -> None:
        """Drops the timer (the subscription is no longer read)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class WatchCache:
    """Follows the store from start() on; ``subscribe`` hands out client subscriptions."""

    def __init__(
        self,
        store: Store,
        namespaces: NamespaceIndex,
        *,
        buffer_events: int = DEFAULT_BUFFER_EVENTS,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
    ) -> None:
        self._store = store
        self._namespaces = namespaces
        self._buffer: deque[CachedEvent] = deque(maxlen=buffer_events)
        self._max_backlog = max_backlog
        self._subscribers: dict[str, set[Subscription]] = {kind.name: set() for kind in kinds.KINDS}
        # Every event after this revision is in the buffer (or still to come from the store).
        self._covered_after = 0
        self._revision = 0
        self._task: asyncio.Task[None] | None = None
        self._latest: dict[str, tuple[bytes, int]] = {}  # key -> (value, revision) of live objects
        self._object_counts = {kind.name: OBJECTS.labels(kind.name) for kind in kinds.KINDS}

    @property
    def revision(self) -> int:
        """The newest revision the cache has seen."""
        return self._revision

    def latest(self, key: str) -> tuple[bytes, int] | None:
        """The encoded object under ``key`` as of the newest change the cache saw, and that
        change's revision; None when it saw no change since it started, or saw the deletion.

        It may lag the store by the watch's delay: use it only as the base of a write that the
        store checks against the revision (a stale base then fails and is read again), never to
        answer a read."""
        return self._latest.get(key)

    async def start(self) -> None:
        self._revision = await self._store.current_revision()
        self._covered_after = self._revision
        await self._count_objects(self._revision)
        self._task = asyncio.create_task(self._follow(), name="watch-cache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.fail(UnavailableError("the API server is shutting down; reconnect"))

    async def _follow(self) -> None:
        while True:
            try:
                async for event in self._store.watch(kinds.KEY_ROOT, self._revision):
                    self._ingest(event)
            except asyncio.CancelledError:
                raise
            except CompactedError:
                log.warning("watch cache fell behind compaction; watchers must relist")
                await self._reset()
            except Exception:
                log.exception("store watch failed; restarting it")
                await asyncio.sleep(0.5)

    async def _count_objects(self, revision: int) -> None:
        """Sets the objects-by-kind gauge from a snapshot at ``revision``; the watch keeps it current."""
        for kind in kinds.KINDS:
            count, start_after = 0, None
            while True:
                page = await self._store.range(kind.prefix(), start_after=start_after, limit=1000, revision=revision)
                count += len(page.items)
                if not page.more:
                    break
                start_after = page.items[-1].key
            OBJECTS.labels(kind.name).set(count)

    async def _reset(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.fail(GoneError("the API server's watch restarted; list again"))
            subscribers.clear()
        self._buffer.clear()
        self._latest.clear()
        self._revision = await self._store.current_revision()
        self._covered_after = self._revision
        await self._count_objects(self._revision)

    def _ingest(self, raw: WatchEvent) -> None:
        event = cached_event(raw)
        self._revision = max(self._revision, raw.kv.mod_revision)
        if event is None:
            return
        if event.deleted:
            self._object_counts[event.kind.name].dec()
            self._latest.pop(event.key, None)
        else:
            if event.prev_value is None:
                self._object_counts[event.kind.name].inc()
            if event.kind.name not in LATEST_NOT_KEPT:
                self._latest[event.key] = (event.value, event.revision)
        if len(self._buffer) == self._buffer.maxlen:
            self._covered_after = self._buffer[0].revision
        self._buffer.append(event)
        if event.kind is NAMESPACE:
            self._namespaces.observe(event.new.metadata.name, None if event.deleted else event.new.status.phase)
        for subscription in self._subscribers[event.kind.name]:
            subscription.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, kind: Kind, prefix: str, after: int) -> AsyncIterator[Subscription]:
        """A subscription to ``prefix`` (within ``kind``) for events after revision ``after``."""
        subscription = Subscription(prefix, after, self._max_backlog)
        if after >= self._covered_after:
            for event in self._buffer:  # no await between replay and registration: nothing is missed
                if event.kind is kind:
                    subscription.offer(event)
            self._subscribers[kind.name].add(subscription)
            try:
                yield subscription
            finally:
                self._subscribers[kind.name].discard(subscription)
                subscription.close()
            return
        pump = asyncio.create_task(self._direct(kind, subscription))
        try:
            yield subscription
        finally:
            subscription.close()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _direct(self, kind: Kind, subscription: Subscription) -> None:
        """Serves a watch older than the buffer straight from the store."""
        try:
            async for raw in self._store.watch(subscription.prefix, subscription.after):
                event = cached_event(raw)
                if event is not None and event.kind is kind:
                    subscription.offer(event)
        except CompactedError as exc:
            subscription.fail(GoneError(f"resource_version {subscription.after} is too old: {exc}; list again"))
        except Exception as exc:  # the stream must end with a status, not hang
            subscription.fail(UnavailableError(f"store watch failed: {exc}"))

    def note_compacted(self, revision: int) -> None:
        """The store discarded history before ``revision``: watches from older revisions must fail."""
        while self._buffer and self._buffer[0].revision < revision:
            self._buffer.popleft()
        # Watching after revision-1 starts at ``revision`` itself, which is still available.
        self._covered_after = max(self._covered_after, revision - 1)

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())
