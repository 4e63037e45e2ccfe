"""A small pool of read-only connections used from worker threads, so reads run in parallel with
the writer (WAL lets readers see the last committed snapshot while a write is in flight)."""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from controller.store.protocol import StoreUnavailableError
from controller.store.sqlite.schema import connect

T = TypeVar("T")


class ReaderPool:
    """Runs ``read(connection)`` on a worker thread inside one read transaction (one snapshot)."""

    def __init__(self, path: Path, size: int = 2) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="atoll-sqlite-reader")
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    async def run(self, read: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreUnavailableError("sqlite store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._in_snapshot, read)
        except RuntimeError as error:  # executor shut down by close() meanwhile
            raise StoreUnavailableError("sqlite store is closed") from error

    def _in_snapshot(self, read: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._borrow()
        try:
            connection.execute("BEGIN")
            try:
                return read(connection)
            finally:
                connection.execute("COMMIT")
        finally:
            self._idle.put(connection)

    def _borrow(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        connection = connect(self._path)
        connection.execute("PRAGMA query_only = ON")
        with self._lock:
            self._all.append(connection)
        return connection

    def close(self) -> None:
        """Waits for running reads, then closes every connection; idempotent."""
        self._closed = True
        self._executor.shutdown(wait=True)
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()
