"""Recording Events ("what happened to an object and why") from controllers.

Events are best effort, as in Kubernetes: a failure to record one is logged and never fails the
reconcile that reported it. An Event lives in its object's namespace (``default`` for
cluster-scoped objects such as Nodes); its name is the object's name plus a unique suffix.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from atoll.client import ApiError
from atoll.v1 import event_pb2
from controller.runtime.clock import Clock

log = logging.getLogger(__name__)
NORMAL = "Normal"
WARNING = "Warning"


class EventSink(Protocol):
    async def create(self, obj: Any) -> Any: ...


class EventRecorder:
    """Writes Events with ``source`` (e.g. ``controller/deployment``) through ``sink.create``."""

    def __init__(self, sink: EventSink, source: str, clock: Clock) -> None:
        self._sink = sink
        self._source = source
        self._clock = clock

    def build(self, kind: str, involved: Any, event_type: str, reason: str, message: str) -> event_pb2.Event:
        meta = involved.metadata
        event = event_pb2.Event()
        event.metadata.namespace = meta.namespace or "default"
        event.metadata.name = f"{meta.name}.{uuid.uuid4().hex[:16]}"
        ref = event.involved_object
        ref.kind, ref.namespace, ref.name, ref.uid = kind, meta.namespace, meta.name, meta.uid
        ref.resource_version = meta.resource_version
        event.reason, event.message, event.type, event.source = reason, message, event_type, self._source
        event.count = 1
        now = self._clock.now()
        event.first_timestamp.FromNanoseconds(int(now * 1e9))
        event.last_timestamp.FromNanoseconds(int(now * 1e9))
        return event

    async def record(self, kind: str, involved: Any, event_type: str, reason: str, message: str) -> None:
        """Create one Event about ``involved`` (a message with metadata) of kind ``kind``."""
        event = self.build(kind, involved, event_type, reason, message)
        try:
            await self._sink.create(event)
        except ApiError as err:
            log.info("event %s for %s/%s not recorded: %s", reason, kind, involved.metadata.name, err.message)
