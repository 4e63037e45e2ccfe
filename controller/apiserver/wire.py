"""Pre-serialized watch responses: each event is encoded once and shared by every watcher.

A WatchResponse is ``repeated WatchEvent events = 1``, so its wire form is the concatenation of
``tag(1, LEN) + varint(len) + event_bytes`` for each event; building it from cached bytes avoids
copying and re-serializing the same object for thousands of streams.

``watch_event`` builds one serialized WatchEvent straight from an object's stored bytes: they are
the kind's message without ``resource_version`` (codec.py), and protobuf parsers merge a repeated
embedded message field, so appending ``metadata { resource_version: R }`` after them stamps the
revision without decoding, copying and re-encoding the object for every event (a parsed copy is
equal to the one ``codec.decode`` stamps; tests/unit/test_wire.py holds that for every kind).

``watch_responses`` pages events into responses of at most ``MAX_RESPONSE_BYTES`` each (one event
larger than that travels alone; objects are at most 1.5 MiB, atoll/validation/bounds.py), so a
watch from an old revision or a burst never exceeds a stock gRPC client's 4 MiB receive limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from atoll.kinds import Kind
from atoll.v1 import api_pb2, meta_pb2, object_pb2

EVENTS_TAG = b"\x0a"  # field 1, wire type 2 (length-delimited)
MAX_RESPONSE_BYTES = 1024 * 1024
_MAX_FRAMING = 6  # the tag and a length varint of up to 5 bytes, per event


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SMALL_VARINTS[value]
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_SMALL_VARINTS = [bytes((value,)) for value in range(0x80)]


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


_LEN, _VARINT = 2, 0
_EVENT_FIELDS = api_pb2.WatchEvent.DESCRIPTOR.fields_by_name
_EVENT_TYPE = _tag(_EVENT_FIELDS["type"].number, _LEN)
_EVENT_OBJECT = _tag(_EVENT_FIELDS["object"].number, _LEN)
_EVENT_REVISION = _tag(_EVENT_FIELDS["resource_version"].number, _VARINT)
_META_REVISION = _tag(meta_pb2.ObjectMeta.DESCRIPTOR.fields_by_name["resource_version"].number, _VARINT)
# Per kind: (tag of its member in the Object oneof, tag of its metadata field).
_KIND_TAGS: dict[str, tuple[bytes, bytes]] = {}


def _kind_tags(kind: Kind) -> tuple[bytes, bytes]:
    tags = _KIND_TAGS.get(kind.name)
    if tags is None:
        member = object_pb2.Object.DESCRIPTOR.fields_by_name[kind.field].number
        metadata = kind.message.DESCRIPTOR.fields_by_name["metadata"].number
        tags = _KIND_TAGS[kind.name] = (_tag(member, _LEN), _tag(metadata, _LEN))
    return tags


def watch_event(event_type: str, kind: Kind, stored: bytes, revision: int) -> bytes:
    """A serialized WatchEvent of ``event_type`` at ``revision`` whose object is ``kind``'s message
    ``stored`` (bytes as the store holds them: no resource_version) stamped with ``revision``, as
    ``codec.decode`` would stamp it; field order as SerializeToString writes it. ``revision`` > 0."""
    member, metadata = _kind_tags(kind)
    revision_varint = _varint(revision)
    stamp = _META_REVISION + revision_varint
    message_length = len(stored) + len(metadata) + 1 + len(stamp)  # a stamp is at most 11 bytes: 1-byte length
    member_varint = _varint(message_length)
    object_length = len(member) + len(member_varint) + message_length
    type_bytes = event_type.encode()
    return b"".join(
        (
            _EVENT_TYPE,
            _varint(len(type_bytes)),
            type_bytes,
            _EVENT_OBJECT,
            _varint(object_length),
            member,
            member_varint,
            stored,
            metadata,
            _SMALL_VARINTS[len(stamp)],
            stamp,
            _EVENT_REVISION,
            revision_varint,
        )
    )


def read_varint(data: memoryview, position: int) -> tuple[int, int]:
    """The varint starting at ``position`` and the position after it (the inverse of ``_varint``)."""
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def watch_response(encoded_events: Iterable[bytes]) -> bytes:
    """Wire bytes of a WatchResponse holding the given serialized WatchEvents, in order."""
    parts: list[bytes] = []
    for event in encoded_events:
        parts.append(EVENTS_TAG)
        parts.append(_varint(len(event)))
        parts.append(event)
    return b"".join(parts)


def watch_responses(encoded_events: Iterable[bytes], max_bytes: int = MAX_RESPONSE_BYTES) -> Iterator[bytes]:
    """Wire bytes of WatchResponses holding the given events in order, each response at most
    ``max_bytes`` unless a single event is larger; nothing for no events."""
    page: list[bytes] = []
    size = 0
    for event in encoded_events:
        framed = len(event) + _MAX_FRAMING
        if page and size + framed > max_bytes:
            yield watch_response(page)
            page, size = [], 0
        page.append(event)
        size += framed
    if page:
        yield watch_response(page)
