"""A work queue of keys for reconcilers, with client-go's guarantees.

- **De-duplication**: a key added several times before a worker takes it is handed out once.
- **Exclusive processing**: a key is never given to two workers at once. A key added while a
  worker holds it is queued again when that worker calls ``done``, so the change is not lost.
- **Delays**: ``add_after`` queues a key later (the earliest pending deadline per key wins);
  ``add_rate_limited`` delays by the rate limiter (per-key back-off, global token bucket) and
  ``forget`` resets the key's back-off after a success.
- **Shutdown**: after ``shutdown`` every ``get`` returns None at once (queued and delayed keys are
  dropped); keys in flight finish normally.

Delays are measured on the injected Clock, so with a ManualClock they fire on ``advance``.
Coroutine-safe on one event loop (which is the only concurrency the controllers use).
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools

from atoll.clock import Clock
from controller.runtime import metrics
from controller.runtime.ratelimit import RateLimiter, default_rate_limiter


class WorkQueue:
    """Keys waiting for a worker; see the module docstring for the contract."""

    def __init__(self, clock: Clock, rate_limiter: RateLimiter | None = None, name: str = "") -> None:
        self.name = name
        self._clock = clock
        self._limiter = rate_limiter or default_rate_limiter(clock)
        self._ready: collections.deque[str] = collections.deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._getters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._waiting: dict[str, float] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._waiting_changed = asyncio.Event()
        self._delay_task: asyncio.Task[None] | None = None
        self._shutting_down = False
        self.adds = 0
        self.retries = 0
        self._depth_gauge = metrics.WORKQUEUE_DEPTH.labels(name)
        self._delayed_gauge = metrics.WORKQUEUE_DELAYED.labels(name)
        self._adds_counter = metrics.WORKQUEUE_ADDS.labels(name)
        self._retries_counter = metrics.WORKQUEUE_RETRIES.labels(name)

    # -- adding ---------------------------------------------------------------------------------

    def add(self, key: str) -> None:
        """Queue ``key`` now unless it is already queued (and not yet taken)."""
        if self._shutting_down or key in self._dirty:
            return
        self.adds += 1
        self._adds_counter.inc()
        self._dirty.add(key)
        if key in self._processing:
            return
        self._ready.append(key)
        self._depth_gauge.set(len(self._ready))
        self._notify()

    def add_after(self, key: str, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds; an earlier pending deadline for it is kept."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        ready_at = self._clock.now() + delay
        current = self._waiting.get(key)
        if current is not None and current <= ready_at:
            return
        self._waiting[key] = ready_at
        self._delayed_gauge.set(len(self._waiting))
        heapq.heappush(self._heap, (ready_at, next(self._order), key))
        self._waiting_changed.set()
        if self._delay_task is None:
            self._delay_task = asyncio.get_running_loop().create_task(
                self._release_due_keys(), name=f"workqueue-{self.name}-delays"
            )

    def add_rate_limited(self, key: str) -> None:
        """Queue ``key`` after its back-off (one more failure counted)."""
        self.retries += 1
        self._retries_counter.inc()
        self.add_after(key, self._limiter.when(key))

    def forget(self, key: str) -> None:
        """Reset the back-off of ``key`` (call after it reconciled successfully)."""
        self._limiter.forget(key)

    def failures(self, key: str) -> int:
        return self._limiter.failures(key)

    # -- taking ---------------------------------------------------------------------------------

    async def get(self) -> str | None:
        """The next key, now owned by the caller until ``done(key)``; None after shutdown."""
        while not self._ready and not self._shutting_down:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and self._ready:
                    self._notify()  # we were woken but will not take the key: pass the wake on
                raise
        if self._shutting_down:
            return None
        key = self._ready.popleft()
        self._depth_gauge.set(len(self._ready))
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: str) -> None:
        """The caller finished ``key``; if it was added meanwhile it is queued again."""
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._ready.append(key)
            self._depth_gauge.set(len(self._ready))
            self._notify()

    # -- state ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Keys ready for a worker (not counting delayed or in-flight keys)."""
        return len(self._ready)

    @property
    def delayed(self) -> int:
        return len(self._waiting)

    async def shutdown(self) -> None:
        """Stop handing out keys: every waiting ``get`` returns None; delayed keys are dropped."""
        self._shutting_down = True
        self._ready.clear()
        self._depth_gauge.set(0)
        self._delayed_gauge.set(0)
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        if self._delay_task is not None:
            self._delay_task.cancel()
            await asyncio.gather(self._delay_task, return_exceptions=True)
            self._delay_task = None

    # -- internals ------------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake one waiting ``get`` (skipping getters that were cancelled)."""
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _release_due_keys(self) -> None:
        while True:
            now = self._clock.now()
            while self._heap and self._heap[0][0] <= now:
                ready_at, _, key = heapq.heappop(self._heap)
                if self._waiting.get(key) == ready_at:
                    del self._waiting[key]
                    self._delayed_gauge.set(len(self._waiting))
                    self.add(key)
            self._waiting_changed.clear()
            if not self._heap:
                await self._waiting_changed.wait()
                continue
            timer = asyncio.ensure_future(self._clock.sleep(self._heap[0][0] - now))
            changed = asyncio.ensure_future(self._waiting_changed.wait())
            try:
                await asyncio.wait({timer, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
                changed.cancel()
