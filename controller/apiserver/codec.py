"""Objects <-> store values. The stored bytes never carry resource_version: it is the key's mod_revision."""

from __future__ import annotations

from typing import Any

from atoll.kinds import Kind


def encode(message: Any) -> bytes:
    """Deterministic bytes of ``message`` without its resource_version (the message is not changed)."""
    revision = message.metadata.resource_version
    if revision:
        message.metadata.resource_version = 0
    try:
        data: bytes = message.SerializeToString(deterministic=True)
    finally:
        if revision:
            message.metadata.resource_version = revision
    return data


def decode(kind: Kind, value: bytes, mod_revision: int) -> Any:
    """A fresh message of ``kind`` from stored bytes, stamped with ``mod_revision``."""
    message = kind.message.FromString(value)
    message.metadata.resource_version = mod_revision
    return message
