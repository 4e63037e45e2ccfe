"""The SQLite layout of the embedded store and how its connections are opened.

Tables:
  history  one row per write, keyed by its revision (one write = one revision). A delete row is a
           tombstone that keeps the deleted value, so a DELETE event can carry it.
  current  the live keys (a cache of the newest non-deleted history row per key) for fast reads
           and for the writer's existence and revision checks.
  meta     'revision' (last committed write, 1 when empty) and 'compacted' (oldest readable revision).

Keys are stored as UTF-8 BLOBs so SQLite orders them bytewise, as etcd does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    revision        INTEGER PRIMARY KEY,
    key             BLOB NOT NULL,
    value           BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER,           -- mod_revision of the version this write replaced; NULL for a create
    deleted         INTEGER NOT NULL   -- 1 for a delete (tombstone)
);
CREATE INDEX IF NOT EXISTS history_by_key ON history (key, revision);
CREATE TABLE IF NOT EXISTS current (
    key             BLOB PRIMARY KEY,
    value           BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision    INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 1), ('compacted', 0), ('schema_version', 1);
"""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=FULL.

    synchronous=FULL makes every COMMIT fsync the WAL, which is what lets an acknowledged write
    survive kill -9 and power loss.
    """
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout = 10000")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    return connection


def create_schema(connection: sqlite3.Connection) -> None:
    connection.executescript(f"BEGIN IMMEDIATE; {SCHEMA} COMMIT;")


def read_meta(connection: sqlite3.Connection, name: str) -> int:
    row = connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise RuntimeError(f"sqlite store is missing meta row {name!r}")
    return int(row[0])
