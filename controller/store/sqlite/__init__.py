"""``sqlite``: the embedded default Store, one SQLite file in WAL mode, durable across kill -9.

store.py (SqliteStore) -> writer.py (the one group-committing writer thread; batch.py checks and
writes one batch) and reader_pool.py
(read-only connections on worker threads) running queries.py (the read queries); schema.py holds
the tables and how connections are opened.
"""

from controller.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
