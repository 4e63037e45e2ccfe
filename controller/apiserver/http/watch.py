"""Watch over HTTP: the wire-encoded WatchResponses the gRPC watch streams, as one JSON event per
line (Kubernetes' watch format: ``{"type": "ADDED", "object": {...}}``).

Watchers share one event's JSON: the line for a serialized WatchEvent is kept in a small LRU keyed
by its bytes (encoding.EncodedByBytes), so a change fanned out to many HTTP watchers is encoded to
JSON once.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import grpc

from atoll.manifest import to_manifest
from atoll.v1 import api_pb2
from controller.apiserver.http.encoding import EncodedByBytes, dumps
from controller.apiserver.http.status import HttpFailure, for_grpc
from controller.apiserver.wire import EVENTS_TAG, read_varint

_LINE_CACHE_BYTES = 8 * 1024 * 1024


class EventLines:
    """JSON lines of wire-encoded WatchResponses; shared by every HTTP watcher of a server."""

    def __init__(self, max_bytes: int = _LINE_CACHE_BYTES) -> None:
        self._lines = EncodedByBytes(max_bytes)

    def lines(self, response: bytes) -> Iterator[bytes]:
        """One JSON line (ending in a newline) per event of ``response``."""
        for event in split_events(response):
            yield self._lines.get(event, partial(_line, event))


def error_line(failure: HttpFailure) -> bytes:
    """The ERROR event that ends a watch which already answered 200 (Kubernetes sends a Status)."""
    return dumps({"type": "ERROR", "object": failure.status}) + b"\n"


def error_line_for(code: grpc.StatusCode, message: str) -> bytes:
    return error_line(HttpFailure(for_grpc(code, message)))


def split_events(response: bytes) -> Iterator[bytes]:
    """The serialized WatchEvents of a serialized WatchResponse (field 1, repeated), in order."""
    view = memoryview(response)
    position = 0
    while position < len(view):
        if view[position] != EVENTS_TAG[0]:
            raise ValueError(f"not a WatchResponse: unexpected tag {view[position]} at byte {position}")
        length, position = read_varint(view, position + 1)
        yield bytes(view[position : position + length])
        position += length


def _line(event_bytes: bytes) -> bytes:
    event = api_pb2.WatchEvent.FromString(event_bytes)
    return dumps({"type": event.type, "object": to_manifest(event.object)}) + b"\n"
