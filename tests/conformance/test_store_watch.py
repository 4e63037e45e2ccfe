"""Store conformance: watch from a revision (history then live), event contents, prefixes."""

from __future__ import annotations

import asyncio

import pytest

from controller.store.protocol import EventType, KeyValue, Store, StoreUnavailableError, WatchEvent
from tests.conformance.watching import assert_quiet, take, watching


async def _write_history(store: Store) -> list[WatchEvent]:
    """Writes create, update, create, delete, recreate; returns the events they must produce."""
    a1 = await store.create("/w/a", b"a1")
    b1 = await store.create("/w/b", b"b1")
    a2 = await store.update("/w/a", b"a2")
    await store.create("/elsewhere", b"x")
    a_gone = await store.delete("/w/a")
    a3 = await store.create("/w/a", b"a3")
    return [
        WatchEvent(EventType.PUT, KeyValue("/w/a", b"a1", a1, a1), None),
        WatchEvent(EventType.PUT, KeyValue("/w/b", b"b1", b1, b1), None),
        WatchEvent(EventType.PUT, KeyValue("/w/a", b"a2", a1, a2), b"a1"),
        WatchEvent(EventType.DELETE, KeyValue("/w/a", b"a2", a1, a_gone), b"a2"),
        WatchEvent(EventType.PUT, KeyValue("/w/a", b"a3", a3, a3), None),
    ]


async def test_watch_from_the_start_replays_every_event_once_in_order(store: Store) -> None:
    expected = await _write_history(store)
    async with watching(store, "/w/", 1) as events:
        assert await take(events, len(expected)) == expected
        await assert_quiet(events)


STARTS = [
    pytest.param(0, 0, id="after revision 0 every event is delivered"),
    pytest.param(1, 0, id="after revision 1 every event is delivered"),
    pytest.param(3, 2, id="after a middle revision only later events are delivered"),
    pytest.param(7, 5, id="after the last write nothing is delivered from history"),
]


@pytest.mark.parametrize(("after", "skipped"), STARTS)
async def test_watch_delivers_only_events_after_the_given_revision(
    store: Store, after: int, skipped: int
) -> None:
    expected = await _write_history(store)
    assert await store.current_revision() == 7
    async with watching(store, "/w/", after) as events:
        replayed = await take(events, len(expected) - skipped)
        assert replayed == expected[skipped:]
        assert all(event.kv.mod_revision > after for event in replayed)
        live = await store.create("/w/live", b"l")
        assert (await take(events, 1))[0].kv == KeyValue("/w/live", b"l", live, live)


async def test_a_delete_event_carries_the_deleted_value_as_value_and_prev_value(store: Store) -> None:
    created = await store.create("/d/x", b"gone soon")
    async with watching(store, "/d/", created) as events:
        deleted = await store.delete("/d/x")
        [event] = await take(events, 1)
    assert event == WatchEvent(
        EventType.DELETE, KeyValue("/d/x", b"gone soon", created, deleted), b"gone soon"
    )


async def test_a_live_watch_sees_writes_made_after_it_started(store: Store) -> None:
    start = await store.current_revision()
    async with watching(store, "/live/", start) as events:
        waiter = asyncio.ensure_future(take(events, 3))
        await asyncio.sleep(0.05)
        first = await store.create("/live/1", b"1")
        await store.create("/other/1", b"not watched")
        second = await store.update("/live/1", b"2")
        third = await store.delete("/live/1")
        received = await waiter
    assert [(e.type, e.kv.mod_revision) for e in received] == [
        (EventType.PUT, first),
        (EventType.PUT, second),
        (EventType.DELETE, third),
    ]


async def test_a_watch_only_sees_keys_with_its_prefix(store: Store) -> None:
    async with watching(store, "/pods/", 1) as events:
        for key in ["/pods2/x", "/pods/a", "/pod", "/nodes/a", "/pods/b"]:
            await store.create(key, b"v")
        assert [e.kv.key for e in await take(events, 2)] == ["/pods/a", "/pods/b"]
        await assert_quiet(events)


async def test_every_watcher_gets_every_event(store: Store) -> None:
    async with watching(store, "/m/", 1) as first, watching(store, "/m/", 1) as second:
        revisions = [await store.create(f"/m/{i}", b"v") for i in range(5)]
        for events in (first, second):
            assert [e.kv.mod_revision for e in await take(events, 5)] == revisions


@pytest.mark.usefixtures("tiny_watch_buffers")
async def test_a_burst_of_concurrent_writes_during_catch_up_is_delivered_once_in_order(store: Store) -> None:
    before = [await store.create(f"/burst/h{i:03d}", b"h") for i in range(60)]
    burst_size = 200
    async with watching(store, "/burst/", 1) as events:
        first = await anext(events)  # the watch is now catching up from history
        burst = asyncio.gather(*(store.create(f"/burst/c{i:03d}", b"c") for i in range(burst_size)))
        rest = await take(events, len(before) + burst_size - 1)
        written = await burst
    revisions = [first.kv.mod_revision] + [e.kv.mod_revision for e in rest]
    assert revisions == sorted(before + written)
    assert len(set(revisions)) == len(revisions)
    assert revisions == list(range(2, 2 + len(before) + burst_size))


@pytest.mark.usefixtures("tiny_watch_buffers")
async def test_a_slow_watcher_still_gets_every_event_once_in_order(store: Store) -> None:
    async with watching(store, "/slow/", 1) as events:
        await store.create("/slow/first", b"f")
        await anext(events)  # the watch is live and blocked on its queue
        # While the watcher does not read, far more events arrive than its live queue holds.
        written = await asyncio.gather(*(store.create(f"/slow/{i:03d}", b"v") for i in range(100)))
        received = await take(events, 100)
    assert [e.kv.mod_revision for e in received] == sorted(written)


async def test_closing_the_store_ends_live_watches_with_store_unavailable(store: Store) -> None:
    events = store.watch("/", await store.current_revision())
    reader = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.2)  # let the watch start and block on live events
    await store.close()
    with pytest.raises(StoreUnavailableError):
        await asyncio.wait_for(reader, 10)
