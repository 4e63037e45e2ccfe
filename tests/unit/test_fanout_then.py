"""FanOut.publish's ``then``: one scheduled callback per loop delivers the events, then runs it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from controller.store.fanout import FanOut
from controller.store.protocol import EventType, KeyValue, WatchEvent
from controller.store.sqlite import SqliteStore


def put(revision: int) -> WatchEvent:
    return WatchEvent(EventType.PUT, KeyValue(f"/k/{revision}", b"v", revision, revision), None)


async def test_then_runs_after_the_loops_subscribers_got_the_events_from_another_thread() -> None:
    fanout = FanOut()
    subscription = fanout.subscribe("/k/")
    loop = asyncio.get_running_loop()
    seen: list[int] = []
    done = asyncio.Event()

    def then() -> None:
        seen.append(len(subscription.pending))
        done.set()

    thread = threading.Thread(target=fanout.publish, args=([put(1), put(2)], {loop: then}))
    thread.start()
    thread.join()
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [2]


async def test_then_runs_without_events_and_without_subscribers() -> None:
    fanout = FanOut()
    loop = asyncio.get_running_loop()
    calls: list[str] = []
    thread = threading.Thread(target=fanout.publish, args=([], {loop: lambda: calls.append("ran")}))
    thread.start()
    thread.join()
    await asyncio.sleep(0.05)
    assert calls == ["ran"]


async def test_a_watcher_has_a_write_before_its_caller_hears_it_succeeded(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    start = await store.current_revision()
    watch = store.watch("/k/", start)
    first = asyncio.ensure_future(watch.__anext__())
    await asyncio.sleep(0.05)  # the watch is subscribed
    revision = await store.create("/k/a", b"v")
    assert first.done()  # delivered in the same loop callback, before the create's future settled
    assert (await first).kv.mod_revision == revision
    await watch.aclose()
    await store.close()
