"""Store conformance: range by prefix, ordering, paging over one snapshot, reads at old revisions."""

from __future__ import annotations

import asyncio
import random

import pytest

from controller.store.protocol import KeyValue, RangeResult, Store
from controller.store.revisions import FutureRevisionError

KEYS = ["/pods/b", "/pods/a", "/pods/a/x", "/pods2/c", "/pod", "/nodes/n1", "/pods/é", "/pods/Z", "/pods/~"]


async def _create_all(store: Store, keys: list[str]) -> None:
    for key in keys:
        await store.create(key, key.encode())


PREFIXES = [
    pytest.param(
        "/pods/",
        ["/pods/Z", "/pods/a", "/pods/a/x", "/pods/b", "/pods/~", "/pods/é"],
        id="a prefix selects its keys in ascending UTF-8 byte order",
    ),
    pytest.param(
        "/pods",
        ["/pods/Z", "/pods/a", "/pods/a/x", "/pods/b", "/pods/~", "/pods/é", "/pods2/c"],
        id="a prefix is a plain string prefix, not a path segment",
    ),
    pytest.param("", sorted(KEYS, key=str.encode), id="the empty prefix selects every key"),
    pytest.param("/nothing/", [], id="a prefix nothing has selects no key"),
    pytest.param("/pods/a/x", ["/pods/a/x"], id="a full key as prefix selects that key"),
]


@pytest.mark.parametrize(("prefix", "expected"), PREFIXES)
async def test_range_returns_keys_with_the_prefix_in_key_order(
    store: Store, prefix: str, expected: list[str]
) -> None:
    shuffled = list(KEYS)
    random.Random(7).shuffle(shuffled)
    await _create_all(store, shuffled)
    result = await store.range(prefix)
    assert [kv.key for kv in result.items] == expected
    assert [kv.value for kv in result.items] == [key.encode() for key in expected]
    assert result.revision == await store.current_revision()
    assert result.more is False


async def test_range_items_carry_create_and_mod_revisions(store: Store) -> None:
    created = await store.create("/a/1", b"x")
    updated = await store.update("/a/1", b"y")
    assert (await store.range("/a/")).items == [KeyValue("/a/1", b"y", created, updated)]


async def test_deleted_keys_are_not_listed(store: Store) -> None:
    await _create_all(store, ["/a/1", "/a/2", "/a/3"])
    await store.delete("/a/2")
    assert [kv.key for kv in (await store.range("/a/")).items] == ["/a/1", "/a/3"]


LIMITS = [
    pytest.param(None, None, ["/k/0", "/k/1", "/k/2", "/k/3", "/k/4"], False, id="no limit returns all"),
    pytest.param(2, None, ["/k/0", "/k/1"], True, id="a limit cuts the result and says there is more"),
    pytest.param(
        5, None, ["/k/0", "/k/1", "/k/2", "/k/3", "/k/4"], False, id="a limit equal to the count has no more"
    ),
    pytest.param(2, "/k/1", ["/k/2", "/k/3"], True, id="start_after resumes after that key"),
    pytest.param(10, "/k/3", ["/k/4"], False, id="start_after near the end returns the rest"),
    pytest.param(None, "/k/4", [], False, id="start_after the last key returns nothing"),
    pytest.param(
        None,
        "/a",
        ["/k/0", "/k/1", "/k/2", "/k/3", "/k/4"],
        False,
        id="start_after before the prefix starts at the prefix",
    ),
    pytest.param(
        None, "/k/1x", ["/k/2", "/k/3", "/k/4"], False, id="start_after need not be an existing key"
    ),
]


@pytest.mark.parametrize(("limit", "start_after", "expected", "more"), LIMITS)
async def test_range_limit_and_start_after(
    store: Store, limit: int | None, start_after: str | None, expected: list[str], more: bool
) -> None:
    await _create_all(store, [f"/k/{i}" for i in range(5)] + ["/l/0"])
    result = await store.range("/k/", start_after=start_after, limit=limit)
    assert ([kv.key for kv in result.items], result.more) == (expected, more)


@pytest.mark.parametrize(
    "revision", [0, -3], ids=["read revision 0 is refused", "a negative read revision is refused"]
)
async def test_range_rejects_a_revision_below_1(store: Store, revision: int) -> None:
    with pytest.raises(ValueError, match="revision"):
        await store.range("/", revision=revision)


@pytest.mark.parametrize("limit", [0, -1], ids=["a zero limit is refused", "a negative limit is refused"])
async def test_range_rejects_a_non_positive_limit(store: Store, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.range("/", limit=limit)


async def _page_through(store: Store, prefix: str, page_size: int) -> tuple[list[KeyValue], int]:
    """Reads every page of ``prefix`` at the revision of the first page, writing between pages."""
    first = await store.range(prefix, limit=page_size)
    items, page = list(first.items), first
    step = 0
    while page.more:
        step += 1
        # Concurrent churn between pages: updates, deletes and creates on both sides of the cursor.
        await asyncio.gather(
            store.update(f"{prefix}{step:03d}", b"changed"),
            store.delete(f"{prefix}{step + 20:03d}"),
            store.create(f"{prefix}{step:03d}-new", b"new"),
            store.create(f"{prefix}zzz-{step}", b"new"),
        )
        page = await store.range(prefix, start_after=items[-1].key, limit=page_size, revision=first.revision)
        assert page.revision == first.revision
        items.extend(page.items)
    return items, first.revision


async def test_paging_at_the_first_pages_revision_reads_one_consistent_snapshot(store: Store) -> None:
    await _create_all(store, [f"/p/{i:03d}" for i in range(40)])
    snapshot = await store.range("/p/")
    items, revision = await _page_through(store, "/p/", page_size=7)
    assert revision == snapshot.revision
    assert items == snapshot.items
    assert await store.current_revision() > revision


async def _history(store: Store) -> dict[str, int]:
    """a=1 @2, a=2 @3, b=1 @4, delete a @5, c=1 @6, b=2 @7: named revisions for the table below."""
    return {
        "a created": await store.create("/h/a", b"a1"),
        "a updated": await store.update("/h/a", b"a2"),
        "b created": await store.create("/h/b", b"b1"),
        "a deleted": await store.delete("/h/a"),
        "c created": await store.create("/h/c", b"c1"),
        "b updated": await store.update("/h/b", b"b2"),
    }


OLD_REVISIONS = [
    pytest.param("empty store", [], id="at revision 1 nothing exists yet"),
    pytest.param("a created", [("/h/a", b"a1")], id="at a's creation only a exists with its first value"),
    pytest.param("a updated", [("/h/a", b"a2")], id="at a's update a has its second value"),
    pytest.param("b created", [("/h/a", b"a2"), ("/h/b", b"b1")], id="at b's creation both exist"),
    pytest.param("a deleted", [("/h/b", b"b1")], id="at a's deletion a is gone"),
    pytest.param(
        "c created", [("/h/b", b"b1"), ("/h/c", b"c1")], id="at c's creation b still has its first value"
    ),
    pytest.param(
        "b updated", [("/h/b", b"b2"), ("/h/c", b"c1")], id="at the current revision b has its new value"
    ),
]


@pytest.mark.parametrize(("moment", "expected"), OLD_REVISIONS)
async def test_range_at_an_old_revision_shows_the_store_as_it_was(
    store: Store, moment: str, expected: list[tuple[str, bytes]]
) -> None:
    revisions = {"empty store": 1, **await _history(store)}
    result = await store.range("/h/", revision=revisions[moment])
    assert result.revision == revisions[moment]
    assert [(kv.key, kv.value) for kv in result.items] == expected
    assert all(kv.mod_revision <= revisions[moment] for kv in result.items)


async def test_range_at_an_old_revision_pages_with_limit(store: Store) -> None:
    await _create_all(store, [f"/o/{i}" for i in range(6)])
    revision = await store.current_revision()
    await store.delete("/o/1")
    await store.create("/o/10", b"later")
    page = await store.range("/o/", limit=3, revision=revision)
    rest = await store.range("/o/", start_after=page.items[-1].key, revision=revision)
    assert ([kv.key for kv in page.items], page.more) == (["/o/0", "/o/1", "/o/2"], True)
    assert ([kv.key for kv in rest.items], rest.more) == (["/o/3", "/o/4", "/o/5"], False)


async def test_range_at_a_future_revision_is_refused(store: Store) -> None:
    await store.create("/a", b"1")
    with pytest.raises(FutureRevisionError):
        await store.range("/", revision=await store.current_revision() + 5)


async def test_range_result_is_a_range_result(store: Store) -> None:
    assert await store.range("/none/") == RangeResult([], 1, False)
