"""Pre-serialized watch responses: each event is encoded once and shared by every watcher.

A WatchResponse is ``repeated WatchEvent events = 1``, so its wire form is the concatenation of
``tag(1, LEN) + varint(len) + event_bytes`` for each event; building it from cached bytes avoids
copying and re-serializing the same object for thousands of streams.
"""

from __future__ import annotations

from collections.abc import Iterable

_EVENTS_TAG = b"\x0a"  # field 1, wire type 2 (length-delimited)


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


def watch_response(encoded_events: Iterable[bytes]) -> bytes:
    """Wire bytes of a WatchResponse holding the given serialized WatchEvents, in order."""
    parts: list[bytes] = []
    for event in encoded_events:
        parts.append(_EVENTS_TAG)
        parts.append(_varint(len(event)))
        parts.append(event)
    return b"".join(parts)
