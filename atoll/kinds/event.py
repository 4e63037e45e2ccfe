"""Event: what happened to an object and why. Events have no spec: a manifest owns every field
but metadata, and they may still be written into a namespace that is being deleted."""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from atoll.kinds.columns import Column, is_set, name, or_none, since
from atoll.kinds.kind import WIRE_KIND_NAMES, KindStrategy
from atoll.v1 import event_pb2
from atoll.validation.base import FieldError
from atoll.validation.records import validate_event


def event_last_seen(event: Any) -> Timestamp:
    """The newest time an event is known to have happened (last, first, then creation)."""
    for timestamp in (event.last_timestamp, event.first_timestamp, event.metadata.creation_timestamp):
        if is_set(timestamp):
            return timestamp  # type: ignore[no-any-return]
    return Timestamp()


def last_seen_order(event: Any) -> tuple[int, int]:
    """Oldest first, as kubectl prints events."""
    timestamp = event_last_seen(event)
    return (timestamp.seconds, timestamp.nanos)


def involved_object(event: Any) -> str:
    """``pod/web``: the lowercase kind and name the event is about."""
    ref = event.involved_object
    return f"{ref.kind.lower()}/{ref.name}"


class EventKind(KindStrategy[event_pb2.Event]):
    def validate(self, obj: event_pb2.Event, errors: list[FieldError]) -> None:
        validate_event(obj, WIRE_KIND_NAMES, errors)


KIND = EventKind(
    name="Event",
    plural="events",
    short=("ev",),
    field="event",
    message=event_pb2.Event,
    namespaced=True,
    has_status=False,
    created_in_terminating_namespace=True,
    described_with_events=False,
    columns=(
        Column("LAST SEEN", lambda event, now: since(event_last_seen(event), now)),
        Column("TYPE", lambda event, now: event.type or "Normal"),
        Column("REASON", lambda event, now: str(event.reason)),
        Column("OBJECT", lambda event, now: involved_object(event)),
        Column("SOURCE", lambda event, now: or_none(event.source), wide=True),
        Column("MESSAGE", lambda event, now: " ".join(str(event.message).split())),
        Column("FIRST SEEN", lambda event, now: since(event.first_timestamp, now), wide=True),
        Column("COUNT", lambda event, now: str(max(event.count, 1)), wide=True),
        Column("NAME", name, wide=True),
    ),
    display_order=last_seen_order,
    selectable_fields={
        "involvedObject.kind": lambda m: str(m.involved_object.kind),
        "involvedObject.namespace": lambda m: str(m.involved_object.namespace),
        "involvedObject.name": lambda m: str(m.involved_object.name),
        "involvedObject.uid": lambda m: str(m.involved_object.uid),
        "reason": lambda m: str(m.reason),
        "type": lambda m: str(m.type),
        "source": lambda m: str(m.source),
    },
)
