"""Store conformance: compaction drops old history; reads and watches before it fail distinctly."""

from __future__ import annotations

import pytest

from controller.store.protocol import CompactedError, EventType, KeyValue, Store, WatchEvent
from controller.store.revisions import FutureRevisionError
from tests.conformance.watching import take, watching


async def _write_then_compact(store: Store) -> dict[str, int]:
    """a=a1 @2, b=b1 @3, a=a2 @4, delete b @5, c=c1 @6 | compact at 5 | a=a3 @7, delete c @8."""
    revisions = {
        "a1": await store.create("/c/a", b"a1"),
        "b1": await store.create("/c/b", b"b1"),
        "a2": await store.update("/c/a", b"a2"),
        "b deleted": await store.delete("/c/b"),
        "c1": await store.create("/c/c", b"c1"),
    }
    revisions["compacted"] = revisions["b deleted"]
    await store.compact(revisions["compacted"])
    revisions["a3"] = await store.update("/c/a", b"a3")
    revisions["c deleted"] = await store.delete("/c/c")
    return revisions


@pytest.mark.parametrize("below", [1, 2], ids=["range one below the compaction point fails",
                                                "range far below the compaction point fails"])  # fmt: skip
async def test_range_below_the_compaction_point_raises_compacted_error(store: Store, below: int) -> None:
    revisions = await _write_then_compact(store)
    with pytest.raises(CompactedError) as raised:
        await store.range("/c/", revision=revisions["compacted"] - below)
    assert raised.value.compacted == revisions["compacted"]
    assert raised.value.requested == revisions["compacted"] - below


READABLE = [
    pytest.param("compacted", [("/c/a", b"a2")], id="range at the compaction point still works"),
    pytest.param("c1", [("/c/a", b"a2"), ("/c/c", b"c1")], id="range between compaction and now works"),
    pytest.param("a3", [("/c/a", b"a3"), ("/c/c", b"c1")], id="range after later writes works"),
    pytest.param("c deleted", [("/c/a", b"a3")], id="range at the current revision works"),
]  # fmt: skip


@pytest.mark.parametrize(("moment", "expected"), READABLE)
async def test_range_at_or_after_the_compaction_point_keeps_working(
    store: Store, moment: str, expected: list[tuple[str, bytes]]
) -> None:
    revisions = await _write_then_compact(store)
    result = await store.range("/c/", revision=revisions[moment])
    assert [(kv.key, kv.value) for kv in result.items] == expected


async def test_watch_below_the_compaction_point_raises_compacted_error_on_first_iteration(
    store: Store,
) -> None:
    revisions = await _write_then_compact(store)
    async with watching(store, "/c/", revisions["compacted"] - 1) as events:
        with pytest.raises(CompactedError) as raised:
            await anext(events)
    assert raised.value.compacted == revisions["compacted"]


async def test_watch_from_the_compaction_point_replays_later_events_with_prev_values(store: Store) -> None:
    revisions = await _write_then_compact(store)
    async with watching(store, "/c/", revisions["compacted"]) as events:
        replayed = await take(events, 3)
    a1, c1 = revisions["a1"], revisions["c1"]
    assert replayed == [
        WatchEvent(EventType.PUT, KeyValue("/c/c", b"c1", c1, c1), None),
        WatchEvent(EventType.PUT, KeyValue("/c/a", b"a3", a1, revisions["a3"]), b"a2"),
        WatchEvent(EventType.DELETE, KeyValue("/c/c", b"c1", c1, revisions["c deleted"]), b"c1"),
    ]


async def test_compaction_keeps_current_data_and_revision(store: Store) -> None:
    revisions = await _write_then_compact(store)
    assert await store.current_revision() == revisions["c deleted"]
    assert await store.get("/c/a") == KeyValue("/c/a", b"a3", revisions["a1"], revisions["a3"])
    assert await store.get("/c/b") is None
    assert await store.get("/c/c") is None
    assert await store.create("/c/b", b"again") == revisions["c deleted"] + 1


async def test_compacting_again_at_an_older_or_equal_revision_changes_nothing(store: Store) -> None:
    revisions = await _write_then_compact(store)
    await store.compact(revisions["compacted"])
    await store.compact(revisions["compacted"] - 2)
    assert [kv.key for kv in (await store.range("/c/", revision=revisions["compacted"])).items] == ["/c/a"]
    with pytest.raises(CompactedError):
        await store.range("/c/", revision=revisions["compacted"] - 1)


async def test_compacting_a_future_revision_is_refused(store: Store) -> None:
    await store.create("/a", b"1")
    with pytest.raises(FutureRevisionError):
        await store.compact(await store.current_revision() + 1)


async def test_compacting_at_the_current_revision_keeps_every_live_key(store: Store) -> None:
    for i in range(5):
        await store.create(f"/all/{i}", b"v")
        await store.update(f"/all/{i}", b"w")
    await store.delete("/all/0")
    current = await store.current_revision()
    await store.compact(current)
    result = await store.range("/all/", revision=current)
    assert [(kv.key, kv.value) for kv in result.items] == [(f"/all/{i}", b"w") for i in range(1, 5)]
    async with watching(store, "/all/", current) as events:
        revision = await store.update("/all/1", b"x")
        [event] = await take(events, 1)
    assert (event.kv.mod_revision, event.prev_value) == (revision, b"w")
