"""The reconcile loop every workload runner shares (controller-runtime's shape, one key each).

``observe`` hands in a newer object, ``vanish`` says the API no longer has it, driver listeners
and timers call ``wake``; the loop runs ``reconcile`` once per batch of wake-ups, never two at
once. A failed API call is retried after ``RETRY_SECONDS``. When ``reconcile`` returns True the
runner is finished and ``done`` is set (the workload is gone and its tasks destroyed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from agent.drivers.protocol import DriverError
from agent.workloads import writes
from agent.workloads.context import NodeContext
from atoll import kinds
from atoll.client import ApiError
from atoll.clock import Timer

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0


class WorkloadRunner:
    kind = ""

    def __init__(self, ctx: NodeContext, message: Any) -> None:
        self.ctx = ctx
        self.latest = message
        self.uid: str = message.metadata.uid
        self.vanished = False
        self.phase_since = ctx.clock.now()  # when the written status phase last changed (metrics)
        self.done = asyncio.Event()
        self._wake = asyncio.Event()
        self._wake.set()
        self._timer: Timer | None = None
        self._timer_at = 0.0
        # While a status write is in flight (not None), the revisions the watch delivered meanwhile:
        # one may be that write's own echo (watchers can hear of a write before its writer does),
        # so whether they wake the runner is decided when the write answers.
        self._seen_while_writing: list[int] | None = None
        self._task = asyncio.create_task(self._loop(), name=f"{self.kind}/{message.metadata.name}")

    @property
    def label(self) -> str:
        return f"{self.kind.lower()}/{self.latest.metadata.namespace}/{self.latest.metadata.name}"

    def observe(self, message: Any) -> None:
        """A newer version from the watch. Older ones, and the echo of our own last write (the
        revision we already hold, adopted from the write's answer, or the one it answers with when
        the echo came first), change nothing and wake nothing: a second reconcile per status write
        would only find the status it just wrote."""
        if message.metadata.resource_version > self.latest.metadata.resource_version:
            self.latest = message
            if self._seen_while_writing is not None:
                self._seen_while_writing.append(message.metadata.resource_version)
            else:
                self.wake()

    def serves(self, message: Any) -> bool:
        """Whether ``message`` belongs to the binding this runner serves (else a new runner must
        take it over once this one is done). A Pod is bound once: always."""
        return True

    def vanish(self) -> None:
        self.vanished = True
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def wake_at(self, when: float) -> None:
        """Reconcile again at ``when`` (clock seconds); keeps the earliest pending time."""
        if self._timer is not None and self._timer_at <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self.ctx.clock.call_later(when - self.ctx.clock.now(), self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self.wake()

    async def close(self) -> None:
        """Stop reconciling (the workload's tasks keep running: an agent restart adopts them)."""
        if self._timer is not None:
            self._timer.cancel()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def reconcile(self) -> bool:
        raise NotImplementedError

    async def set_finalizer(self, message: Any, *, present: bool) -> Any | None:
        """Add or remove the agent's finalizer (see writes.set_finalizer); None when gone."""
        wrapped = kinds.by_name(self.kind).wrap(message)
        return await writes.set_finalizer(self.ctx.client, wrapped, self.ctx.config.finalizer, present)

    async def write_status(self, message: Any, status: Any) -> None:
        """Write ``status`` for ``message`` unless the stored status already equals it."""
        if status == message.status:
            return
        if status.phase != message.status.phase:
            self.phase_since = self.ctx.clock.now()
        desired = type(message)()
        desired.metadata.CopyFrom(message.metadata)
        desired.status.CopyFrom(status)
        seen: list[int] = []
        self._seen_while_writing = seen
        stored = None
        try:
            stored = await writes.write_status(self.ctx.statuses, desired)
        finally:
            self._seen_while_writing = None
            ours = stored.metadata.resource_version if stored is not None else None
            if any(revision != ours for revision in seen):
                self.wake()  # a change not our own arrived meanwhile (or the write failed: look again)
        self.adopt_written(stored)

    def adopt_written(self, stored: Any) -> None:
        """Keep what our own write returned as the latest view."""
        if stored is not None and stored.metadata.resource_version >= self.latest.metadata.resource_version:
            self.latest = stored

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                if await self.reconcile():
                    self.done.set()
                    return
            except (ApiError, DriverError) as err:
                log.warning("%s: %s; retrying in %ss", self.label, err, RETRY_SECONDS)
                self.wake_at(self.ctx.clock.now() + RETRY_SECONDS)
            except Exception:
                log.exception("%s: reconcile failed", self.label)
                self.wake_at(self.ctx.clock.now() + RETRY_SECONDS)
