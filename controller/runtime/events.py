"""Recording Events ("what happened to an object and why") from controllers.

Events are best effort, as in Kubernetes: a failure to record one is logged and never fails the
reconcile that reported it. What an Event holds (namespace, name, timestamps) is atoll.events'
rule; this recorder writes each one through the API and waits for it.
"""

from __future__ import annotations

import logging

from atoll.client import ApiError
from atoll.clock import Clock
from atoll.events import new_event
from atoll.ports import ApiObject, Creator
from atoll.v1 import event_pb2

log = logging.getLogger(__name__)


class EventRecorder:
    """Writes Events with ``source`` (e.g. ``controller/deployment``) through ``sink.create``."""

    def __init__(self, sink: Creator, source: str, clock: Clock) -> None:
        self._sink = sink
        self._source = source
        self._clock = clock

    def build(self, kind: str, involved: ApiObject, event_type: str, reason: str, message: str) -> event_pb2.Event:
        meta = involved.metadata
        return new_event(
            kind=kind, namespace=meta.namespace, name=meta.name, uid=meta.uid, reason=reason, message=message,
            source=self._source, at=self._clock.now(), event_type=event_type, resource_version=meta.resource_version,
        )

    async def record(self, kind: str, involved: ApiObject, event_type: str, reason: str, message: str) -> None:
        """Create one Event about ``involved`` (a message with metadata) of kind ``kind``."""
        event = self.build(kind, involved, event_type, reason, message)
        try:
            await self._sink.create(event)
        except ApiError as err:
            log.info("event %s for %s/%s not recorded: %s", reason, kind, involved.metadata.name, err.message)
