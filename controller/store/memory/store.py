"""The in-process Store: full MVCC history in dicts and lists, for tests and ephemeral runs.

Every write keeps a new version of its key, so ``range`` at an older revision and ``watch`` from
an older revision work until ``compact`` drops what is no longer needed. Nothing survives the
process. Use it from one event loop; each method runs without awaiting, so it is atomic.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator
from dataclasses import dataclass

from controller.store.fanout import FanOut
from controller.store.keys import range_start, validate_limit
from controller.store.protocol import (
    ConflictError,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RangeResult,
    StoreUnavailableError,
    WatchEvent,
)
from controller.store.revisions import (
    check_readable,
    check_watchable,
    needs_compaction,
    validate_read_revision,
)


@dataclass(frozen=True, slots=True)
class _Version:
    revision: int
    create_revision: int
    # None marks a delete (tombstone).
    value: bytes | None


class MemoryStore:
    """Store protocol implementation held in memory (see controller.store.protocol)."""

    def __init__(self) -> None:
        self._revision = 1
        self._compacted = 0
        self._versions: dict[str, list[_Version]] = {}
        self._sorted_keys: list[str] = []
        # _events[i] has revision _first_event_revision + i (one event per revision).
        self._events: list[WatchEvent] = []
        self._first_event_revision = 2
        self._fanout = FanOut()
        self._closed = False

    async def create(self, key: str, value: bytes) -> int:
        self._check_open()
        if self._latest(key) is not None:
            raise KeyExistsError(f"key {key!r} already exists")
        revision = self._revision + 1
        self._append(key, _Version(revision, revision, bytes(value)))
        self._commit(WatchEvent(EventType.PUT, KeyValue(key, bytes(value), revision, revision), None))
        return revision

    async def update(self, key: str, value: bytes, expected_revision: int | None = None) -> int:
        self._check_open()
        current = self._checked_latest(key, expected_revision)
        revision = self._revision + 1
        self._append(key, _Version(revision, current.create_revision, bytes(value)))
        kv = KeyValue(key, bytes(value), current.create_revision, revision)
        self._commit(WatchEvent(EventType.PUT, kv, current.value))
        return revision

    async def delete(self, key: str, expected_revision: int | None = None) -> int:
        self._check_open()
        current = self._checked_latest(key, expected_revision)
        assert current.value is not None
        revision = self._revision + 1
        self._append(key, _Version(revision, current.create_revision, None))
        kv = KeyValue(key, current.value, current.create_revision, revision)
        self._commit(WatchEvent(EventType.DELETE, kv, current.value))
        return revision

    async def get(self, key: str) -> KeyValue | None:
        self._check_open()
        latest = self._latest(key)
        if latest is None or latest.value is None:
            return None
        return KeyValue(key, latest.value, latest.create_revision, latest.revision)

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        revision: int | None = None,
    ) -> RangeResult:
        self._check_open()
        validate_limit(limit)
        validate_read_revision(revision)
        at = self._revision if revision is None else revision
        check_readable(at, self._revision, self._compacted)
        items: list[KeyValue] = []
        index = bisect.bisect_left(self._sorted_keys, range_start(prefix, start_after))
        while index < len(self._sorted_keys):
            key = self._sorted_keys[index]
            index += 1
            if not key.startswith(prefix):
                break
            version = _version_at(self._versions[key], at)
            if version is None or version.value is None:
                continue
            if limit is not None and len(items) == limit:
                return RangeResult(items, at, more=True)
            items.append(KeyValue(key, version.value, version.create_revision, version.revision))
        return RangeResult(items, at, more=False)

    def watch(self, prefix: str, after_revision: int) -> AsyncIterator[WatchEvent]:
        return self._fanout.follow(prefix, after_revision, self._read_history)

    async def current_revision(self) -> int:
        self._check_open()
        return self._revision

    async def compact(self, revision: int) -> None:
        self._check_open()
        if not needs_compaction(revision, self._revision, self._compacted):
            return
        for key in list(self._versions):
            kept = _compacted_versions(self._versions[key], revision)
            if kept:
                self._versions[key] = kept
            else:
                del self._versions[key]
        self._sorted_keys = sorted(self._versions)
        drop = revision + 1 - self._first_event_revision
        if drop > 0:
            del self._events[:drop]
            self._first_event_revision += drop
        self._compacted = revision

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._fanout.close("memory store is closed")

    async def _read_history(self, prefix: str, after_revision: int, limit: int) -> list[WatchEvent]:
        self._check_open()
        check_watchable(after_revision, self._compacted)
        start = max(0, after_revision + 1 - self._first_event_revision)
        page: list[WatchEvent] = []
        for event in self._events[start:]:
            if event.kv.key.startswith(prefix):
                page.append(event)
                if len(page) == limit:
                    break
        return page

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailableError("memory store is closed")

    def _latest(self, key: str) -> _Version | None:
        versions = self._versions.get(key)
        if not versions or versions[-1].value is None:
            return None
        return versions[-1]

    def _checked_latest(self, key: str, expected_revision: int | None) -> _Version:
        current = self._latest(key)
        if current is None:
            raise KeyNotFoundError(f"key {key!r} not found")
        if expected_revision is not None and current.revision != expected_revision:
            raise ConflictError(
                f"key {key!r} is at revision {current.revision}, expected {expected_revision}"
            )
        return current

    def _append(self, key: str, version: _Version) -> None:
        versions = self._versions.get(key)
        if versions is None:
            self._versions[key] = [version]
            bisect.insort(self._sorted_keys, key)
        else:
            versions.append(version)

    def _commit(self, event: WatchEvent) -> None:
        self._revision = event.kv.mod_revision
        self._events.append(event)
        self._fanout.publish([event])


def _version_at(versions: list[_Version], revision: int) -> _Version | None:
    """The newest version written at or before ``revision``."""
    index = bisect.bisect_right(versions, revision, key=lambda version: version.revision)
    return versions[index - 1] if index else None


def _compacted_versions(versions: list[_Version], revision: int) -> list[_Version]:
    """Versions still needed after compacting at ``revision``: the one visible at ``revision``
    (unless it is a delete) and everything newer."""
    index = bisect.bisect_right(versions, revision, key=lambda version: version.revision)
    if index == 0:
        return versions
    visible = versions[index - 1]
    newer = versions[index:]
    return newer if visible.value is None else [visible, *newer]
