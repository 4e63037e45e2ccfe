"""Objects -> JSON bytes with the encoder ``atoll get -o json`` uses (atoll.manifest.to_manifest),
so the HTTP API answers exactly what the CLI prints."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from atoll import kinds
from atoll.manifest import to_manifest
from atoll.v1 import object_pb2


def dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def object_json(obj: object_pb2.Object) -> bytes:
    return dumps(to_manifest(obj))


def list_json(items: Iterable[object_pb2.Object], resource_version: int, continue_token: str) -> bytes:
    """A List as ``atoll get -o json`` prints one, with the list's metadata (revision, continue)."""
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return dumps(
        {
            "apiVersion": kinds.API_VERSION,
            "kind": "List",
            "metadata": metadata,
            "items": [to_manifest(item) for item in items],
        }
    )
