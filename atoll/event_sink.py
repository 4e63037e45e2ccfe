"""EventSink: Events written off the critical path, in batches (the BatchCreate RPC).

``put`` never waits for the API: events go to a bounded queue drained by a few sender tasks.
Each sender takes everything queued (up to ``batch``) and writes it in one call, so at low rates
an event goes out alone at once and under load one round trip carries hundreds. When the queue
is full (the API server is slow), events are dropped and counted, as Kubernetes' event
broadcaster does: the status of a workload is what must not wait, never its Events.
"""

from __future__ import annotations

import asyncio
import logging

from atoll.client import ApiError
from atoll.ports import BatchCreator
from atoll.queues import next_batch
from atoll.tasks import cancel_and_wait
from atoll.v1 import event_pb2, object_pb2

log = logging.getLogger(__name__)


class EventSink:
    def __init__(self, api: BatchCreator, *, capacity: int = 10_000, senders: int = 2, batch: int = 500) -> None:
        self._api = api
        self._queue: asyncio.Queue[event_pb2.Event] = asyncio.Queue(capacity)
        self._senders = senders
        self._batch = batch
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0
        self.sent = 0
        self.failed = 0

    def put(self, event: event_pb2.Event) -> None:
        """Queue ``event`` for writing (starts the senders on first use); drops it when full."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._send(), name="event-sender") for _ in range(self._senders)]

    async def flush(self) -> None:
        """Wait until every queued event was written (or failed)."""
        await self._queue.join()

    async def close(self) -> None:
        """Stop the senders; what is still queued is not written."""
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _send(self) -> None:
        while True:
            batch = await next_batch(self._queue, self._batch)
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[event_pb2.Event]) -> None:
        try:
            response = await self._api.batch_create([object_pb2.Object(event=event) for event in batch])
        except ApiError as err:
            self.failed += len(batch)
            log.debug("%d events not recorded: %s", len(batch), err.message)
            return
        except Exception:  # a sender must outlive any one failure: Events are best effort
            self.failed += len(batch)
            log.exception("%d events not recorded", len(batch))
            return
        for event, result in zip(batch, response.results, strict=True):
            if result.code == "OK":
                self.sent += 1
            else:
                self.failed += 1
                log.debug("event %s not recorded: %s", event.metadata.name, result.message)
