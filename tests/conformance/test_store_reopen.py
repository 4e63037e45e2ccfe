"""Store conformance for durable backends (sqlite, etcd): a reopened store has the same data,
revision, history and compaction point, and continues the revision sequence."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controller.store.factory import open_store
from controller.store.protocol import CompactedError, StoreUnavailableError
from controller.store.sqlite import SqliteStore
from tests.conformance.watching import take, watching


async def test_a_reopened_store_keeps_data_revision_and_history(
    durable_store_spec: str, tmp_path: Path
) -> None:
    first = await open_store(durable_store_spec, tmp_path)
    try:
        kept = await first.create("/r/kept", b"k")
        gone = await first.create("/r/gone", b"g")
        await first.update("/r/kept", b"k2")
        await first.delete("/r/gone")
        await first.compact(gone)
        revision = await first.current_revision()
    finally:
        await first.close()

    second = await open_store(durable_store_spec, tmp_path)
    try:
        assert await second.current_revision() == revision
        listed = await second.range("/r/")
        assert [(kv.key, kv.value, kv.create_revision) for kv in listed.items] == [("/r/kept", b"k2", kept)]
        at_compaction = await second.range("/r/", revision=gone)
        assert [(kv.key, kv.value) for kv in at_compaction.items] == [("/r/gone", b"g"), ("/r/kept", b"k")]
        with pytest.raises(CompactedError):
            await second.range("/r/", revision=gone - 1)
        async with watching(second, "/r/", gone) as events:
            assert [event.kv.mod_revision for event in await take(events, 2)] == [gone + 1, gone + 2]
        assert await second.create("/r/new", b"n") == revision + 1
    finally:
        await second.close()


async def test_a_second_sqlite_store_on_the_same_file_is_refused(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "atoll.db")
    try:
        with pytest.raises(StoreUnavailableError, match="in use"):
            SqliteStore(tmp_path / "atoll.db")
    finally:
        await first.close()
    reopened = SqliteStore(tmp_path / "atoll.db")  # the lock is released on close
    await reopened.close()


async def test_sqlite_group_commit_puts_concurrent_writes_in_fewer_transactions(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "atoll.db")
    try:
        revisions = await asyncio.gather(*(store.create(f"/g/{i}", b"v") for i in range(256)))
        stats = store.write_stats
    finally:
        await store.close()
    assert sorted(revisions) == list(range(2, 258))
    assert stats.requests == 256
    assert stats.commits < 256 / 4, f"256 concurrent writes took {stats.commits} commits"
