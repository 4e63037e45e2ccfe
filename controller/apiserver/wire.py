"""Pre-serialized watch responses: each event is encoded once and shared by every watcher.

A WatchResponse is ``repeated WatchEvent events = 1``, so its wire form is the concatenation of
``tag(1, LEN) + varint(len) + event_bytes`` for each event; building it from cached bytes avoids
copying and re-serializing the same object for thousands of streams.

``watch_responses`` pages events into responses of at most ``MAX_RESPONSE_BYTES`` each (one event
larger than that travels alone; objects are at most 1.5 MiB, atoll/validation/bounds.py), so a
watch from an old revision or a burst never exceeds a stock gRPC client's 4 MiB receive limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

EVENTS_TAG = b"\x0a"  # field 1, wire type 2 (length-delimited)
MAX_RESPONSE_BYTES = 1024 * 1024
_MAX_FRAMING = 6  # the tag and a length varint of up to 5 bytes, per event


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


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
