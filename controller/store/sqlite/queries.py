"""Read queries of the embedded store. Each function runs inside one read transaction (one WAL
snapshot) on a reader connection, so everything it returns is consistent."""

from __future__ import annotations

import sqlite3

from controller.store.keys import decode_key, encode_key, prefix_end, range_start
from controller.store.protocol import EventType, KeyValue, RangeResult, WatchEvent
from controller.store.revisions import check_readable, check_watchable
from controller.store.sqlite.schema import read_meta


def get(connection: sqlite3.Connection, key: str) -> KeyValue | None:
    row = connection.execute(
        "SELECT value, create_revision, mod_revision FROM current WHERE key = ?", (encode_key(key),)
    ).fetchone()
    if row is None:
        return None
    return KeyValue(key, bytes(row[0]), int(row[1]), int(row[2]))


def _bounds(prefix: str, start_after: str | None) -> tuple[str, list[object]]:
    """SQL condition on ``key`` and its parameters for keys with ``prefix`` after ``start_after``."""
    start = encode_key(range_start(prefix, start_after))
    end = prefix_end(encode_key(prefix))
    if end is None:
        return "key >= ?", [start]
    return "key >= ? AND key < ?", [start, end]


def range_at(
    connection: sqlite3.Connection,
    prefix: str,
    start_after: str | None,
    limit: int | None,
    revision: int | None,
) -> RangeResult:
    """Keys with ``prefix`` after ``start_after`` as of ``revision`` (None: the current revision)."""
    current = read_meta(connection, "revision")
    at = current if revision is None else revision
    check_readable(at, current, read_meta(connection, "compacted"))
    condition, parameters = _bounds(prefix, start_after)
    fetch = -1 if limit is None else limit + 1
    if at == current:
        sql = (
            f"SELECT key, value, create_revision, mod_revision FROM current WHERE {condition} "
            "ORDER BY key LIMIT ?"
        )
        rows = connection.execute(sql, [*parameters, fetch]).fetchall()
    else:
        sql = (
            "SELECT h.key, h.value, h.create_revision, h.revision FROM history AS h "
            f"WHERE {condition.replace('key', 'h.key')} AND h.deleted = 0 AND h.revision = "
            "(SELECT MAX(i.revision) FROM history AS i WHERE i.key = h.key AND i.revision <= ?) "
            "ORDER BY h.key LIMIT ?"
        )
        rows = connection.execute(sql, [*parameters, at, fetch]).fetchall()
    more = limit is not None and len(rows) > limit
    items = [KeyValue(decode_key(row[0]), bytes(row[1]), int(row[2]), int(row[3])) for row in rows[:limit]]
    return RangeResult(items, at, more)


def history_page(
    connection: sqlite3.Connection, prefix: str, after_revision: int, limit: int
) -> list[WatchEvent]:
    """Up to ``limit`` events on ``prefix`` with revision > ``after_revision``, ascending."""
    check_watchable(after_revision, read_meta(connection, "compacted"))
    condition, parameters = _bounds(prefix, None)
    # "+h.key" keeps the planner on the revision (rowid) range: watchers usually start near the end.
    sql = (
        "SELECT h.revision, h.key, h.value, h.create_revision, h.deleted, p.value "
        "FROM history AS h LEFT JOIN history AS p ON p.revision = h.prev_revision "
        f"WHERE h.revision > ? AND {condition.replace('key', '+h.key')} ORDER BY h.revision LIMIT ?"
    )
    rows = connection.execute(sql, [after_revision, *parameters, limit]).fetchall()
    return [_event(row) for row in rows]


def _event(row: tuple[int, bytes, bytes, int, int, bytes | None]) -> WatchEvent:
    revision, raw_key, value, create_revision, deleted, prev_value = row
    kv = KeyValue(decode_key(raw_key), bytes(value), int(create_revision), int(revision))
    if deleted:
        return WatchEvent(EventType.DELETE, kv, bytes(value))
    return WatchEvent(EventType.PUT, kv, None if prev_value is None else bytes(prev_value))
