"""Objects -> JSON bytes with the encoder ``atoll get -o json`` uses (atoll.manifest.to_manifest),
so the HTTP API answers exactly what the CLI prints.

Encoding is pure Python (~10 us for a small Pod, against ~0.3 us for its protobuf bytes), so the
JSON of each object version is kept, keyed by its protobuf bytes, in one bounded LRU: a List of
1,000 Pods that were encoded before (by a Get, a List, a create's answer) costs a lookup per item.
Keyed by the bytes, not by name and resourceVersion, so two answers that differ in anything
(a redacted field, a different caller) can never share an entry.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from atoll import kinds
from atoll.manifest import to_manifest
from atoll.v1 import object_pb2

# Room for the JSON of 10,000 small workloads several times over; an entry costs its key and value.
OBJECT_CACHE_BYTES = 64 * 1024 * 1024


def dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class EncodedByBytes:
    """A bounded LRU from protobuf bytes to the JSON encoding of the message they hold.

    ``get(key, encode)`` answers the kept encoding, or calls ``encode()`` once and keeps its
    result; entries leave oldest-used first while the kept keys and values exceed ``max_bytes``.
    Not thread-safe: one event loop uses it."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()

    def get(self, key: bytes, encode: Callable[[], bytes]) -> bytes:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
            return value
        value = encode()
        self._entries[key] = value
        self._bytes += len(key) + len(value)
        while self._bytes > self._max_bytes and self._entries:
            old_key, old_value = self._entries.popitem(last=False)
            self._bytes -= len(old_key) + len(old_value)
        return value

    def __len__(self) -> int:
        return len(self._entries)


_OBJECTS = EncodedByBytes(OBJECT_CACHE_BYTES)


def object_json(obj: object_pb2.Object) -> bytes:
    """``obj`` as ``atoll get -o json`` prints it (compact)."""
    return _OBJECTS.get(obj.SerializeToString(), lambda: dumps(to_manifest(obj)))


def list_json(items: Iterable[object_pb2.Object], resource_version: int, continue_token: str) -> bytes:
    """A List as ``atoll get -o json`` prints one, with the list's metadata (revision, continue)."""
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    head = dumps({"apiVersion": kinds.API_VERSION, "kind": "List", "metadata": metadata, "items": []})
    return head[:-2] + b",".join(object_json(item) for item in items) + b"]}"  # head ends in "[]}"
