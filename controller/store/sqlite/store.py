"""The embedded default Store: one SQLite file, durable across kill -9.

    callers --WriteRequest--> GroupCommitWriter thread --COMMIT (WAL fsync)--> futures resolve
                                         |--committed events--> FanOut --> live watchers
    reads --> ReaderPool threads (one WAL snapshot per call)      watch catch-up --> history table

MVCC history lives in the ``history`` table, so range at an older revision (and paging over one
snapshot) and watch from an older revision work after a restart, until ``compact``. The file is
locked (flock on ``<path>.lock``) so that only one process writes it.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
from collections.abc import AsyncIterator
from pathlib import Path

from controller.store.fanout import FanOut
from controller.store.keys import validate_limit
from controller.store.protocol import KeyValue, RangeResult, StoreUnavailableError, WatchEvent
from controller.store.revisions import validate_read_revision
from controller.store.sqlite import queries
from controller.store.sqlite.batch import Operation
from controller.store.sqlite.reader_pool import ReaderPool
from controller.store.sqlite.schema import connect, create_schema
from controller.store.sqlite.writer import GroupCommitWriter, WriteRequest, WriteStats


class SqliteStore:
    """Store protocol implementation on one SQLite file (see controller.store.protocol).

    The constructor opens (creating if needed) the database at ``path`` and starts the writer
    thread; raises StoreUnavailableError if another process holds the file.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock_fd = _lock_exclusively(self.path)
        try:
            connection = connect(self.path)
            create_schema(connection)
        except Exception:
            os.close(self._lock_fd)
            raise
        self._fanout = FanOut()
        self._writer = GroupCommitWriter(connection, self._fanout.publish)
        self._readers = ReaderPool(self.path)
        self._closed = False

    async def create(self, key: str, value: bytes) -> int:
        # _write inlined: the hottest write path saves a coroutine frame.
        self._check_open()
        request = WriteRequest(Operation.CREATE, key, bytes(value))
        self._writer.submit(request)
        return await request.future

    async def update(self, key: str, value: bytes, expected_revision: int | None = None) -> int:
        return await self._write(WriteRequest(Operation.UPDATE, key, bytes(value), expected_revision))

    async def delete(self, key: str, expected_revision: int | None = None) -> int:
        return await self._write(WriteRequest(Operation.DELETE, key, expected_revision=expected_revision))

    async def get(self, key: str) -> KeyValue | None:
        return await self._readers.run(functools.partial(queries.get, key=key))

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        revision: int | None = None,
    ) -> RangeResult:
        validate_limit(limit)
        validate_read_revision(revision)
        read = functools.partial(
            queries.range_at, prefix=prefix, start_after=start_after, limit=limit, revision=revision
        )
        return await self._readers.run(read)

    def watch(self, prefix: str, after_revision: int) -> AsyncIterator[WatchEvent]:
        return self._fanout.follow(prefix, after_revision, self._read_history)

    @property
    def write_stats(self) -> WriteStats:
        """How many write requests were settled in how many commits (group commit at work)."""
        return self._writer.stats

    async def current_revision(self) -> int:
        self._check_open()
        return self._writer.revision

    async def compact(self, revision: int) -> None:
        await self._write(WriteRequest(Operation.COMPACT, revision=revision))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.close("sqlite store is closed")
        await asyncio.to_thread(self._writer.stop)
        await asyncio.to_thread(self._readers.close)
        os.close(self._lock_fd)

    async def _write(self, request: WriteRequest) -> int:
        self._check_open()
        self._writer.submit(request)
        return await request.future

    async def _read_history(self, prefix: str, after_revision: int, limit: int) -> list[WatchEvent]:
        read = functools.partial(
            queries.history_page, prefix=prefix, after_revision=after_revision, limit=limit
        )
        return await self._readers.run(read)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailableError(f"sqlite store {self.path} is closed")


def _lock_exclusively(path: Path) -> int:
    """Holds an exclusive flock on ``<path>.lock`` for the store's lifetime (released on exit)."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreUnavailableError(f"sqlite store {path} is in use by another process") from None
    return fd
