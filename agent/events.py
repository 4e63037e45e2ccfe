"""Events the agent reports (Started, Killed, BackOff, Failed), sent off the critical path.

``record`` never waits for the API: events go to a bounded queue drained by a few sender tasks.
When the queue is full (the API server is slow), events are dropped and counted, as Kubernetes'
event broadcaster does; workload status is what must not wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from agent.clock import Clock
from atoll.client import ApiError, Client
from atoll.v1 import event_pb2

log = logging.getLogger(__name__)


class EventRecorder:
    def __init__(self, client: Client, clock: Clock, *, capacity: int = 10_000, senders: int = 4,
                 enabled: bool = True) -> None:
        self._client = client
        self._clock = clock
        self._queue: asyncio.Queue[event_pb2.Event] = asyncio.Queue(capacity)
        self._senders = senders
        self._tasks: list[asyncio.Task[None]] = []
        self.enabled = enabled
        self.dropped = 0
        self.sent = 0

    def record(self, source: str, kind: str, namespace: str, name: str, uid: str, reason: str, message: str,
               *, warning: bool = False) -> None:
        """Queue an Event about ``kind/namespace/name`` from ``source`` (``agent/NODE``)."""
        if not self.enabled:
            return
        event = event_pb2.Event(reason=reason, message=message, type="Warning" if warning else "Normal",
                                count=1, source=source)
        event.metadata.name = f"{name}.{uuid.uuid4().hex[:16]}"
        event.metadata.namespace = namespace
        involved = event.involved_object
        involved.kind, involved.namespace, involved.name, involved.uid = kind, namespace, name, uid
        nanos = int(self._clock.now() * 1e9)
        event.first_timestamp.FromNanoseconds(nanos)
        event.last_timestamp.FromNanoseconds(nanos)
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._send(), name="event-sender") for _ in range(self._senders)]

    async def flush(self) -> None:
        """Wait until every queued event was sent (or failed)."""
        await self._queue.join()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _send(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._client.create(event)
                self.sent += 1
            except ApiError as err:
                log.debug("event %s not recorded: %s", event.metadata.name, err.message)
            finally:
                self._queue.task_done()
