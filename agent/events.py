"""Events the agent reports (Started, Killed, BackOff, Failed), sent off the critical path.

``record`` never waits for the API: it builds the Event (atoll.events) and hands it to an EventSink (batched
BatchCreate calls from a bounded queue; dropped and counted when the API server falls behind,
as Kubernetes' event broadcaster does). Workload status is what must not wait.
"""

from __future__ import annotations

from atoll.client import Client
from atoll.clock import Clock
from atoll.event_sink import EventSink
from atoll.events import NORMAL, WARNING, new_event


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
        event = new_event(kind=kind, namespace=namespace, name=name, uid=uid, reason=reason, message=message,
                          source=source, at=self._clock.now(), event_type=WARNING if warning else NORMAL)
        self._sink.put(event)

    async def flush(self) -> None:
        """Wait until every queued event was sent (or failed)."""
        await self._sink.flush()

    async def close(self) -> None:
        await self._sink.close()
