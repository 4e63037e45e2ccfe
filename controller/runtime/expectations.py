"""Expectations: what a controller has just created or deleted and its informer has not yet seen.

Without them a second reconcile, running before the watch delivers the first one's writes, would
count from a stale cache and create (or delete) the same replicas again. Names are recorded before
the write is sent; the informer handler (or a failed write) clears them. A controller acts on a
key only when ``satisfied(key)``; entries older than ``ttl`` seconds are given up on, so a lost
watch event delays a controller but never wedges it (client-go's ControllerExpectations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atoll.clock import Clock


@dataclass
class _Pending:
    creations: set[str] = field(default_factory=set)
    deletions: set[str] = field(default_factory=set)
    since: float = 0.0


class Expectations:
    def __init__(self, clock: Clock, ttl: float = 300.0) -> None:
        self._clock = clock
        self._ttl = ttl
        self._pending: dict[str, _Pending] = {}

    def expect_creations(self, key: str, names: list[str]) -> None:
        self._entry(key).creations.update(names)

    def expect_deletions(self, key: str, names: list[str]) -> None:
        self._entry(key).deletions.update(names)

    def created(self, key: str, name: str) -> None:
        """``name`` was seen (or its creation failed): stop waiting for it."""
        entry = self._pending.get(key)
        if entry is not None:
            entry.creations.discard(name)
            self._drop_if_empty(key, entry)

    def deleted(self, key: str, name: str) -> None:
        entry = self._pending.get(key)
        if entry is not None:
            entry.deletions.discard(name)
            self._drop_if_empty(key, entry)

    def satisfied(self, key: str) -> bool:
        entry = self._pending.get(key)
        if entry is None:
            return True
        if self._clock.now() - entry.since > self._ttl:
            del self._pending[key]
            return True
        return False

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)

    def _entry(self, key: str) -> _Pending:
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = _Pending(since=self._clock.now())
        return entry

    def _drop_if_empty(self, key: str, entry: _Pending) -> None:
        if not entry.creations and not entry.deletions:
            del self._pending[key]
