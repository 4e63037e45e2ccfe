"""In-process watch fan-out for the backends that own their history (memory, sqlite).

A backend calls ``FanOut.publish`` after each durable write batch, from any thread; every live
subscriber receives the matching events on its own event loop. ``FanOut.follow`` turns a
subscription plus the backend's history reader into the Store.watch iterator:

    subscribe (live events start queueing) -> catch up from history -> drain the live queue

Events are de-duplicated by revision at the seam between history and live, so each event is
yielded exactly once, in revision order. A subscriber that falls more than ``max_pending`` events
behind drops its queue and catches up from history again instead of growing without bound.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

from controller.store.protocol import StoreError, StoreUnavailableError, WatchEvent

# read_history(prefix, after_revision, limit): up to ``limit`` events on ``prefix`` with revision
# > after_revision, ascending; raises CompactedError when after_revision is compacted.
ReadHistory = Callable[[str, int, int], Awaitable[list[WatchEvent]]]
Action = Callable[[], None]

HISTORY_PAGE = 1000
DEFAULT_MAX_PENDING = 10_000


class Subscription:
    """One watcher's live queue. Touched only on its own event loop."""

    def __init__(self, prefix: str, loop: asyncio.AbstractEventLoop, max_pending: int) -> None:
        self.prefix = prefix
        self.loop = loop
        self.pending: collections.deque[WatchEvent] = collections.deque()
        self.lagging = False
        self.failure: StoreError | None = None
        self.wakeup = asyncio.Event()
        self._max_pending = max_pending

    def offer(self, events: Sequence[WatchEvent]) -> None:
        matched = False
        for event in events:
            if not event.kv.key.startswith(self.prefix):
                continue
            if len(self.pending) >= self._max_pending:
                self.pending.clear()
                self.lagging = True
            self.pending.append(event)
            matched = True
        if matched:
            self.wakeup.set()

    def fail(self, error: StoreError) -> None:
        self.failure = error
        self.wakeup.set()


class FanOut:
    """Thread-safe registry of live subscriptions; see the module docstring."""

    def __init__(self, max_pending: int | None = None) -> None:
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._max_pending = max_pending
        self._closed_reason: str | None = None

    def subscribe(self, prefix: str) -> Subscription:
        """Starts queueing live events on ``prefix``; call on the subscriber's event loop."""
        max_pending = DEFAULT_MAX_PENDING if self._max_pending is None else self._max_pending
        subscription = Subscription(prefix, asyncio.get_running_loop(), max_pending)
        with self._lock:
            if self._closed_reason is not None:
                raise StoreUnavailableError(self._closed_reason)
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def publish(
        self, events: Sequence[WatchEvent], then: Mapping[asyncio.AbstractEventLoop, Action] | None = None
    ) -> None:
        """Hands committed events (ascending revisions) to every subscriber; callable from any thread.

        ``then``: per event loop, a callback to run on that loop right after its subscribers got
        the events, in the same scheduled callback (the sqlite writer settles its callers' futures
        so: one wake-up of a loop per commit, and watchers still see a write before its caller
        hears it succeeded). It runs even when there are no events or no subscribers there."""
        if not events and not then:
            return
        with self._lock:
            subscriptions = list(self._subscriptions) if events else []
        self._deliver(subscriptions, lambda subscription: subscription.offer(events), then or {})

    def close(self, reason: str) -> None:
        """Fails every current and future subscriber with StoreUnavailableError(``reason``)."""
        with self._lock:
            self._closed_reason = reason
            subscriptions = list(self._subscriptions)
            self._subscriptions.clear()
        self._deliver(subscriptions, lambda subscription: subscription.fail(StoreUnavailableError(reason)), {})

    @staticmethod
    def _deliver(
        subscriptions: list[Subscription],
        action: Callable[[Subscription], None],
        then: Mapping[asyncio.AbstractEventLoop, Action],
    ) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscription]] = {}
        for subscription in subscriptions:
            by_loop.setdefault(subscription.loop, []).append(subscription)
        for loop in then:
            by_loop.setdefault(loop, [])
        for loop, members in by_loop.items():
            if loop is running:
                _apply_all(members, action, then.get(loop))
                continue
            # A closed loop raises RuntimeError: its subscribers (and callers) are gone with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_apply_all, members, action, then.get(loop))

    async def follow(
        self, prefix: str, after_revision: int, read_history: ReadHistory
    ) -> AsyncIterator[WatchEvent]:
        """Every event on ``prefix`` after ``after_revision``, once each, then live ones, until closed."""
        subscription = self.subscribe(prefix)
        last = after_revision
        try:
            catch_up = True
            while True:
                if catch_up:
                    catch_up = False
                    while True:
                        page = await read_history(prefix, last, HISTORY_PAGE)
                        for event in page:
                            if event.kv.mod_revision > last:
                                last = event.kv.mod_revision
                                yield event
                        if len(page) < HISTORY_PAGE:
                            break
                while not subscription.pending and not subscription.lagging and subscription.failure is None:
                    subscription.wakeup.clear()
                    await subscription.wakeup.wait()
                if subscription.failure is not None:
                    raise subscription.failure
                if subscription.lagging:
                    subscription.lagging = False
                    catch_up = True
                    continue
                event = subscription.pending.popleft()
                if event.kv.mod_revision > last:
                    last = event.kv.mod_revision
                    yield event
        finally:
            self.unsubscribe(subscription)


def _apply_all(subscriptions: list[Subscription], action: Callable[[Subscription], None], then: Action | None) -> None:
    for subscription in subscriptions:
        action(subscription)
    if then is not None:
        then()
