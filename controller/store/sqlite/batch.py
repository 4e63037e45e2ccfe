"""The changes of one group-commit batch, checked in memory and written with few statements.

The writer (writer.py) applies a batch's requests in order, each at its own revision. Instead of
three statements per request (read the key's row, insert a history row, change ``current``),
``BatchChanges`` reads every key of the batch with one query up front, checks each request against
the batch's own view of those rows (so a create then an update of one key in one batch sees the
create), and writes the history rows and the final state of each changed key with one multi-row INSERT each
at ``flush``. A request that fails its check changes nothing, as before. The writer flushes before
anything that reads the tables inside the transaction (compaction) and before COMMIT.

Why: the sqlite3 module releases the GIL around every step of a statement, so each step costs the
writer thread a GIL round trip against the busy event loop (a futex wait and a forced switch);
per batch that is now a handful instead of three per request. Rows go in as one multi-row
INSERT, not ``executemany``, which steps (and round-trips the GIL) once per row.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from enum import Enum

from controller.store.keys import encode_key
from controller.store.protocol import (
    ConflictError,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    WatchEvent,
)

# Host parameters per IN (...) query: below SQLite's historic limit of 999.
_KEYS_PER_QUERY = 500


class Operation(Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    COMPACT = "compact"


# A live key's row: (value, create_revision, mod_revision); None when the key does not exist.
Row = tuple[bytes, int, int] | None
HistoryRow = tuple[int, bytes, bytes, int, int | None, int]


class BatchChanges:
    """The rows of ``keys`` as the batch changes them, and the statements that make it so."""

    def __init__(self, connection: sqlite3.Connection, keys: list[str]) -> None:
        self._connection = connection
        self._encoded: dict[str, bytes] = {key: encode_key(key) for key in keys}
        self._rows: dict[bytes, Row] = dict.fromkeys(self._encoded.values())
        wanted = list(self._rows)
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[start : start + _KEYS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, value, create_revision, mod_revision FROM current WHERE key IN ({marks})"
            for key, value, create_revision, mod_revision in connection.execute(query, chunk):
                self._rows[bytes(key)] = (bytes(value), int(create_revision), int(mod_revision))
        self._history: list[HistoryRow] = []
        self._changed: dict[bytes, Row] = {}  # key -> its row after the batch so far (None: deleted)

    def apply(
        self, operation: Operation, key: str, value: bytes, expected_revision: int | None, revision: int
    ) -> WatchEvent:
        """Records one write at ``revision`` and returns its event; raises KeyExistsError,
        KeyNotFoundError or ConflictError (then nothing is recorded)."""
        encoded = self._encoded[key]
        row = self._rows[encoded]
        if operation is Operation.CREATE:
            if row is not None:
                raise KeyExistsError(f"key {key!r} already exists")
            self._record(encoded, (value, revision, revision), (revision, encoded, value, revision, None, 0))
            return WatchEvent(EventType.PUT, KeyValue(key, value, revision, revision), None)
        if row is None:
            raise KeyNotFoundError(f"key {key!r} not found")
        old_value, create_revision, mod_revision = row
        if expected_revision is not None and expected_revision != mod_revision:
            raise ConflictError(f"key {key!r} is at revision {mod_revision}, expected {expected_revision}")
        if operation is Operation.UPDATE:
            history = (revision, encoded, value, create_revision, mod_revision, 0)
            self._record(encoded, (value, create_revision, revision), history)
            return WatchEvent(EventType.PUT, KeyValue(key, value, create_revision, revision), old_value)
        self._record(encoded, None, (revision, encoded, old_value, create_revision, mod_revision, 1))
        return WatchEvent(EventType.DELETE, KeyValue(key, old_value, create_revision, revision), old_value)

    def _record(self, key: bytes, row: Row, history: HistoryRow) -> None:
        self._rows[key] = row
        self._changed[key] = row
        self._history.append(history)

    def flush(self) -> None:
        """Writes what was recorded since the last flush: history rows in revision order, then
        the final state of each changed key in ``current``."""
        if self._history:
            _insert(self._connection, _HISTORY_INSERT, "", self._history)
            self._history = []
        if not self._changed:
            return
        live = [(key, *row) for key, row in self._changed.items() if row is not None]
        gone = [key for key, row in self._changed.items() if row is None]
        if live:
            _insert(self._connection, _CURRENT_INSERT, _CURRENT_UPSERT, live)
        for start in range(0, len(gone), _ROWS_PER_STATEMENT):
            chunk = gone[start : start + _ROWS_PER_STATEMENT]
            self._connection.execute(f"DELETE FROM current WHERE key IN ({','.join('?' * len(chunk))})", chunk)
        self._changed = {}


_HISTORY_INSERT = "INSERT INTO history (revision, key, value, create_revision, prev_revision, deleted)"
_CURRENT_INSERT = "INSERT INTO current (key, value, create_revision, mod_revision)"
_CURRENT_UPSERT = (
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
    "create_revision = excluded.create_revision, mod_revision = excluded.mod_revision"
)
# Rows per multi-row INSERT: 6 parameters each stays far below SQLite's 32,766 (3.32+).
_ROWS_PER_STATEMENT = 256


def _insert(connection: sqlite3.Connection, head: str, tail: str, rows: Sequence[tuple[object, ...]]) -> None:
    """``head VALUES (...), (...) tail`` for ``rows``, one statement per ``_ROWS_PER_STATEMENT``.

    Not ``executemany``: it steps the statement once per row, and the sqlite3 module releases
    and takes back the GIL around every step, so each row cost the writer thread a GIL round
    trip against the busy event loop; a multi-row VALUES is one step."""
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        connection.execute(_values_sql(head, tail, len(chunk[0]), len(chunk)), [v for row in chunk for v in row])


@functools.lru_cache(maxsize=512)
def _values_sql(head: str, tail: str, width: int, count: int) -> str:
    row = "(" + ",".join("?" * width) + ")"
    return f"{head} VALUES {','.join([row] * count)}{tail}"
