"""The sqlite store's group commit: writes to one key in one batch each see the one before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from controller.store.protocol import KeyNotFoundError, WatchEvent
from controller.store.sqlite import SqliteStore


async def test_writes_to_one_key_in_one_batch_each_see_the_one_before(tmp_path: Path) -> None:
    """Create, update, delete, a lost update and a create again of one key, submitted together
    (the writer takes them as one batch): each applies to what the previous left, in order, and
    the store reads the same after a reopen."""
    store = SqliteStore(tmp_path / "s.db")
    start = await store.current_revision()
    outcomes = await asyncio.gather(
        store.create("/seq/k", b"1"),
        store.update("/seq/k", b"2", expected_revision=start + 1),
        store.delete("/seq/k", expected_revision=start + 2),
        store.update("/seq/k", b"lost"),
        store.create("/seq/k", b"3"),
        return_exceptions=True,
    )
    assert outcomes[:3] == [start + 1, start + 2, start + 3]
    assert isinstance(outcomes[3], KeyNotFoundError)
    assert outcomes[4] == start + 4
    history = [event async for event in _take(store.watch("/seq/", start), 4)]
    assert [(e.type.name, e.kv.value, e.kv.mod_revision, e.prev_value) for e in history] == [
        ("PUT", b"1", start + 1, None),
        ("PUT", b"2", start + 2, b"1"),
        ("DELETE", b"2", start + 3, b"2"),
        ("PUT", b"3", start + 4, None),
    ]
    await store.close()
    reopened = SqliteStore(tmp_path / "s.db")
    current = await reopened.get("/seq/k")
    assert current is not None
    assert (current.value, current.create_revision, current.mod_revision) == (b"3", start + 4, start + 4)
    assert await reopened.current_revision() == start + 4
    await reopened.close()


async def _take(events: AsyncIterator[WatchEvent], count: int) -> AsyncIterator[WatchEvent]:
    async for event in events:
        yield event
        count -= 1
        if count == 0:
            return


async def test_a_batch_larger_than_one_statement_writes_every_row(tmp_path: Path) -> None:
    """600 creates then 300 deletes, each submitted together (so batches of more rows than one
    multi-row INSERT or DELETE holds): every key is as written, after a reopen too."""
    store = SqliteStore(tmp_path / "s.db")
    start = await store.current_revision()
    keys = [f"/big/k{index:04d}" for index in range(600)]
    created = await asyncio.gather(*(store.create(key, key.encode()) for key in keys))
    assert sorted(created) == list(range(start + 1, start + 601))
    await asyncio.gather(*(store.delete(key) for key in keys[:300]))
    assert store.write_stats.commits < 900, "the writes were not batched: the test proves nothing"
    await store.close()
    reopened = SqliteStore(tmp_path / "s.db")
    page = await reopened.range("/big/")
    assert [kv.key for kv in page.items] == keys[300:]
    assert all(kv.value == kv.key.encode() for kv in page.items)
    history = [event async for event in _take(reopened.watch("/big/", start), 900)]
    assert [event.kv.mod_revision for event in history] == list(range(start + 1, start + 901))
    await reopened.close()
