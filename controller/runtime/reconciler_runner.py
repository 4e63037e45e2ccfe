"""Runs a reconciler: ``workers`` coroutines take keys from its work queue and call
``reconcile(key)`` with the retry rules of ``controller.runtime.reconciler`` (the contract).
"""

from __future__ import annotations

import asyncio
import logging
import time

import grpc

from atoll.client import ApiError
from atoll.tasks import cancel_and_wait
from controller.runtime import metrics
from controller.runtime.reconciler import Reconciler

log = logging.getLogger(__name__)
_QUIET_CODES = (grpc.StatusCode.ABORTED, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS)


class ReconcilerRunner:
    """``workers`` coroutines draining one reconciler's queue until ``stop`` is called."""

    def __init__(self, reconciler: Reconciler, workers: int = 2) -> None:
        self.reconciler = reconciler
        self.workers = workers
        self.reconciles = 0
        self.failures = 0
        self._tasks: list[asyncio.Task[None]] = []
        name = reconciler.name
        self._duration = metrics.RECONCILE_DURATION.labels(name)
        self._errors = metrics.RECONCILE_ERRORS.labels(name)
        self._results = {result: metrics.RECONCILES.labels(name, result) for result in ("success", "requeue", "error")}

    def start(self) -> None:
        name = self.reconciler.name
        self._tasks = [asyncio.create_task(self._work(), name=f"{name}-worker-{i}") for i in range(self.workers)]

    async def stop(self) -> None:
        """Shut the queue down, let in-flight reconciles finish being cancelled, and return."""
        await self.reconciler.queue.shutdown()
        await cancel_and_wait(self._tasks)
        self._tasks.clear()

    async def process_one(self, key: str) -> None:
        """Reconcile ``key`` once with the queue's retry rules (the caller holds the key)."""
        queue = self.reconciler.queue
        self.reconciles += 1
        started = time.perf_counter()
        try:
            result = await self.reconciler.reconcile(key)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self._observe("error", started)
            self._errors.inc()
            self._retry(key, err)
            return
        self._observe("requeue" if result is not None and result.requeue_after is not None else "success", started)
        queue.forget(key)
        if result is not None and result.requeue_after is not None:
            queue.add_after(key, result.requeue_after)

    def _observe(self, result: str, started: float) -> None:
        self._duration.observe(time.perf_counter() - started)
        self._results[result].inc()

    def _retry(self, key: str, err: Exception) -> None:
        """Log why ``key`` failed (quietly for expected API conflicts) and re-queue it with back-off."""
        self.failures += 1
        if isinstance(err, ApiError):
            level = logging.DEBUG if err.code in _QUIET_CODES else logging.WARNING
            log.log(level, "%s %s: %s (retrying)", self.reconciler.name, key, err.message)
        else:
            log.error("%s %s: reconcile failed (retrying)", self.reconciler.name, key, exc_info=err)
        self.reconciler.queue.add_rate_limited(key)

    async def _work(self) -> None:
        queue = self.reconciler.queue
        while True:
            key = await queue.get()
            if key is None:
                return
            try:
                await self.process_one(key)
            finally:
                queue.done(key)


async def drain(reconciler: Reconciler, *, limit: int = 10_000) -> int:
    """Reconcile every ready key of ``reconciler.queue`` inline until none is ready; returns how
    many reconciles ran. For tests: deterministic, no worker tasks."""
    runner = ReconcilerRunner(reconciler, workers=0)
    queue = reconciler.queue
    count = 0
    while len(queue) and count < limit:
        key = await queue.get()
        if key is None:
            break
        try:
            await runner.process_one(key)
        finally:
            queue.done(key)
        count += 1
    return count
