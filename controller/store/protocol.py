"""The Store protocol every backend implements, with etcd's semantics.

Contracts (the conformance suite in tests/conformance/ checks every one of them):

- One global revision. It starts at 1 for an empty store (as etcd does) and every successful
  write (create, update, delete) increments it by exactly one; a failed write changes nothing.
- ``create`` fails with KeyExistsError if the key exists.
- ``update`` and ``delete`` fail with KeyNotFoundError if the key is absent, and with
  ConflictError if ``expected_revision`` is given and differs from the key's ``mod_revision``.
- ``range`` returns keys with the prefix in ascending key order, as one consistent snapshot at
  ``revision`` (default: current). Paging: pass the last key seen as ``start_after`` and the
  returned ``revision`` back as ``revision``, so all pages come from the same snapshot. Reading
  at a compacted revision raises CompactedError.
- ``watch(prefix, after_revision)`` yields every event on keys with the prefix whose revision is
  greater than ``after_revision``, each exactly once, in revision order, and then follows live
  writes until the iterator is closed. If ``after_revision`` is below the compaction point it
  raises CompactedError (on first iteration) and the caller relists.
- ``compact(revision)`` discards history older than ``revision``; reads and watches at or after
  it keep working.
- Methods are coroutine-safe: many tasks may call them concurrently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class StoreError(Exception):
    """Base of every error a store raises on purpose."""


class KeyExistsError(StoreError):
    """create() on a key that exists."""


class KeyNotFoundError(StoreError):
    """update()/delete() on a key that does not exist."""


class ConflictError(StoreError):
    """update()/delete() whose expected_revision is not the key's current mod_revision."""


class CompactedError(StoreError):
    """A read or watch asked for a revision older than the compaction point."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"revision {requested} is compacted (oldest available: {compacted})")
        self.requested = requested
        self.compacted = compacted


class StoreUnavailableError(StoreError):
    """The backend cannot be reached (etcd down, database closed)."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(Enum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change. For PUT, ``kv`` is the new value; for DELETE, ``kv.value`` is the value that was
    deleted and ``kv.mod_revision`` is the delete's revision. ``prev_value`` is the value before
    this change (None for a create)."""

    type: EventType
    kv: KeyValue
    prev_value: bytes | None


@dataclass(frozen=True, slots=True)
class RangeResult:
    items: list[KeyValue]
    # The snapshot revision the items were read at.
    revision: int
    # True when limit cut the result short.
    more: bool


class Store(Protocol):
    """Desired-state storage; see the module docstring for the contracts."""

    async def create(self, key: str, value: bytes) -> int:
        """Stores a new key; returns the write's revision."""
        ...

    async def update(self, key: str, value: bytes, expected_revision: int | None = None) -> int:
        """Replaces an existing key's value; returns the write's revision."""
        ...

    async def delete(self, key: str, expected_revision: int | None = None) -> int:
        """Removes a key; returns the delete's revision."""
        ...

    async def get(self, key: str) -> KeyValue | None:
        """The current value of one key, or None."""
        ...

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        revision: int | None = None,
    ) -> RangeResult:
        """Keys with ``prefix`` (> ``start_after``), at most ``limit``, at ``revision``."""
        ...

    def watch(self, prefix: str, after_revision: int) -> AsyncIterator[WatchEvent]:
        """Every event on ``prefix`` after ``after_revision``, then live ones; close to stop."""
        ...

    async def current_revision(self) -> int:
        """The revision of the last write (1 for an empty store)."""
        ...

    async def compact(self, revision: int) -> None:
        """Discards history before ``revision``."""
        ...

    async def close(self) -> None:
        """Releases connections and threads; idempotent."""
        ...
