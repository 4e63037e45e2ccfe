"""Events the agent reports (Started, Killed, BackOff, Failed), sent off the critical path.

``record`` never waits for the API: it builds the Event and hands it to an EventSink (batched
BatchCreate calls from a bounded queue; dropped and counted when the API server falls behind,
as Kubernetes' event broadcaster does). Workload status is what must not wait.
"""

from __future__ import annotations

import uuid

from agent.clock import Clock
from atoll.client import Client
from atoll.event_sink import EventSink
from atoll.v1 import event_pb2


class EventRecorder:
    def __init__(self, client: Client, clock: Clock, *, capacity: int = 10_000, senders: int = 2,
                 enabled: bool = True) -> None:
        self._clock = clock
        self._sink = EventSink(client, capacity=capacity, senders=senders)
        self.enabled = enabled

    @property
    def dropped(self) -> int:
        """Events not queued because the queue was full."""
        return self._sink.dropped

    @property
    def sent(self) -> int:
        """Events the API server stored."""
        return self._sink.sent

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
        self._sink.put(event)

    async def flush(self) -> None:
        """Wait until every queued event was sent (or failed)."""
        await self._sink.flush()

    async def close(self) -> None:
        await self._sink.close()
