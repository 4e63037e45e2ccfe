"""The single writer of the embedded store: one thread that group-commits.

Callers on any event loop submit a ``WriteRequest`` and await its future. The thread takes every
request queued while the previous commit was in flight and applies them in ONE transaction (one
fsync): each request still gets its own revision and its own outcome, and a request that fails
its check (exists, not found, conflict) changes nothing and does not disturb its neighbours.
Futures resolve only after COMMIT returns, so an acknowledged write is durable. Committed events
go to ``on_commit`` in revision order, from the writer thread, with the settling of the batch's
futures per event loop (FanOut.publish's ``then``): watchers get a write before its caller hears of
it, and a loop is woken once per commit, not twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from controller.store.protocol import (
    StoreError,
    StoreUnavailableError,
    WatchEvent,
)
from controller.store.revisions import needs_compaction
from controller.store.sqlite.batch import BatchChanges, Operation
from controller.store.sqlite.schema import read_meta

log = logging.getLogger(__name__)

MAX_BATCH = 1024


@dataclass(slots=True)
class WriteRequest:
    """One write. ``revision`` is the compaction point for COMPACT; the future's result is the
    write's revision (0 for COMPACT) or a StoreError."""

    operation: Operation
    key: str = ""
    value: bytes = b""
    expected_revision: int | None = None
    revision: int = 0
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)
    future: asyncio.Future[int] = field(init=False)

    def __post_init__(self) -> None:
        self.future = self.loop.create_future()


Outcome = int | BaseException
# on_commit(events, then): FanOut.publish's signature.
OnCommit = Callable[[list[WatchEvent], Mapping[asyncio.AbstractEventLoop, Callable[[], None]]], None]


@dataclass(frozen=True, slots=True)
class WriteStats:
    """Counters since the store opened: ``requests`` settled in ``commits`` transactions."""

    commits: int
    requests: int


class GroupCommitWriter:
    """Owns the write connection and the revision counter; see the module docstring."""

    def __init__(self, connection: sqlite3.Connection, on_commit: OnCommit) -> None:
        self._connection = connection
        self._on_commit = on_commit
        self.revision = read_meta(connection, "revision")
        self.compacted = read_meta(connection, "compacted")
        self._queue: queue.SimpleQueue[WriteRequest | None] = queue.SimpleQueue()
        self._accepting = True
        self._commits = 0
        self._requests = 0
        self._accepting_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="atoll-sqlite-writer", daemon=True)
        self._thread.start()

    @property
    def stats(self) -> WriteStats:
        return WriteStats(self._commits, self._requests)

    def submit(self, request: WriteRequest) -> None:
        with self._accepting_lock:
            if not self._accepting:
                raise StoreUnavailableError("sqlite store is closed")
            self._queue.put(request)

    def stop(self) -> None:
        """Finishes every accepted request, then ends the thread (blocks until it has)."""
        with self._accepting_lock:
            if self._accepting:
                self._accepting = False
                self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            batch: list[WriteRequest] = []
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) == MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)
            if item is None:
                self._connection.close()
                return

    def _commit(self, batch: list[WriteRequest]) -> None:
        outcomes: list[Outcome] = []
        events: list[WatchEvent] = []
        revision, compacted = self.revision, self.compacted
        try:
            self._connection.execute("BEGIN IMMEDIATE")
            changes = BatchChanges(self._connection, [request.key for request in batch if request.key])
            for request in batch:
                try:
                    if request.operation is Operation.COMPACT:
                        changes.flush()  # compaction looks at history: this batch's rows first
                        compacted = self._compact(request.revision, revision, compacted)
                        outcomes.append(0)
                        continue
                    event = changes.apply(
                        request.operation, request.key, request.value, request.expected_revision, revision + 1
                    )
                except StoreError as error:
                    outcomes.append(error)
                    continue
                revision += 1
                events.append(event)
                outcomes.append(revision)
            changes.flush()
            self._connection.execute("UPDATE meta SET value = ? WHERE name = 'revision'", (revision,))
            self._connection.execute("COMMIT")
        except Exception as error:  # the thread must survive anything, or every caller would hang
            log.exception("sqlite store: a write batch of %d failed", len(batch))
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            failure = StoreUnavailableError(f"sqlite store write failed: {error}")
            _resolve(batch, [failure] * len(batch))
            return
        self.revision, self.compacted = revision, compacted
        self._commits += 1
        self._requests += len(batch)
        settlements = _settlements_by_loop(batch, outcomes)
        self._on_commit(events, {loop: functools.partial(_settle, each) for loop, each in settlements.items()})

    def _compact(self, target: int, current: int, compacted: int) -> int:
        """Deletes history no read at or after ``target`` needs; returns the new compaction point."""
        if not needs_compaction(target, current, compacted):
            return compacted
        # First the versions superseded at or before target, then deletes at or before target
        # (in that order: a tombstone is what marks the version before it as superseded).
        self._connection.execute(
            "DELETE FROM history WHERE revision < :target AND EXISTS ("
            " SELECT 1 FROM history AS newer WHERE newer.key = history.key"
            " AND newer.revision > history.revision AND newer.revision <= :target)",
            {"target": target},
        )
        self._connection.execute("DELETE FROM history WHERE revision <= ? AND deleted = 1", (target,))
        self._connection.execute("UPDATE meta SET value = ? WHERE name = 'compacted'", (target,))
        return target


Settlements = list[tuple[asyncio.Future[int], Outcome]]


def _settlements_by_loop(
    batch: list[WriteRequest], outcomes: list[Outcome]
) -> dict[asyncio.AbstractEventLoop, Settlements]:
    by_loop: dict[asyncio.AbstractEventLoop, Settlements] = {}
    for request, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(request.loop, []).append((request.future, outcome))
    return by_loop


def _resolve(batch: list[WriteRequest], outcomes: list[Outcome]) -> None:
    """Settles each request's future on its own loop, one wake-up per loop (a failed commit)."""
    for loop, settlements in _settlements_by_loop(batch, outcomes).items():
        # A closed loop raises RuntimeError: nobody is waiting there any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settlements)


def _settle(settlements: Settlements) -> None:
    for future, outcome in settlements:
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
