"""Event expiry: each Event goes ``ttl`` after its last write; nothing else is touched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from atoll import kinds
from atoll.clock import ManualClock
from atoll.v1 import namespace_pb2, object_pb2
from controller.apiserver.event_ttl import EventExpirer
from controller.apiserver.namespaces import NamespaceIndex
from controller.apiserver.registry import Registry
from controller.apiserver.watch_cache import CachedEvent, WatchCache
from controller.store.memory import MemoryStore
from tests.support.objects import make_event, make_pod

TTL = 3600.0
EVENT = kinds.by_name("Event")


@dataclass
class Setup:
    store: MemoryStore
    registry: Registry
    cache: WatchCache
    clock: ManualClock

    async def event(self, name: str, written_at: float | None = None) -> object_pb2.Object:
        obj = make_event(name)
        if written_at is not None:
            obj.event.last_timestamp.FromNanoseconds(int(written_at * 1e9))
        await self.registry.create(obj)
        return obj

    async def changes_since(self, revision: int) -> list[CachedEvent]:
        """The Event writes after ``revision``, as the expirer's subscription would get them."""
        async with self.cache.subscribe(EVENT, EVENT.prefix(""), revision) as subscription:
            await self.caught_up()
            return await subscription.next_batch(0.1)

    async def caught_up(self) -> None:
        while self.cache.revision < await self.store.current_revision():
            await asyncio.sleep(0.01)

    async def names(self, kind: str) -> list[str]:
        listing = await self.store.range(kinds.by_name(kind).prefix(""))
        return sorted(kv.key.rsplit("/", 1)[1] for kv in listing.items)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    store = MemoryStore()
    namespaces = NamespaceIndex(store)
    cache = WatchCache(store, namespaces)
    await cache.start()
    registry = Registry(store, namespaces, recent=cache.latest)
    namespace = object_pb2.Object(namespace=namespace_pb2.Namespace())
    namespace.namespace.metadata.name = "default"
    await registry.create(namespace)
    yield Setup(store, registry, cache, ManualClock(start=1_800_000_000.0))
    await cache.stop()


async def test_events_go_a_ttl_after_their_write_and_nothing_else_does(setup: Setup) -> None:
    expirer = EventExpirer(setup.store, setup.cache, TTL, clock=setup.clock)
    revision = await expirer.seed()
    await setup.registry.create(make_pod())
    await setup.event("web.1")
    expirer.note(await setup.changes_since(revision))
    revision = await setup.store.current_revision()
    setup.clock.advance(600)
    await setup.event("web.2")
    expirer.note(await setup.changes_since(revision))
    setup.clock.advance(TTL - 600 - 1)
    assert await expirer.expire_due() == 0
    setup.clock.advance(1)
    assert await expirer.expire_due() == 1
    assert await setup.names("Event") == ["web.2"]
    setup.clock.advance(600)
    assert await expirer.expire_due() == 1
    assert await setup.names("Event") == []
    assert await setup.names("Pod") == ["web"]


async def test_an_event_written_again_keeps_living_until_its_newer_schedule(setup: Setup) -> None:
    expirer = EventExpirer(setup.store, setup.cache, TTL, clock=setup.clock)
    start = await expirer.seed()
    obj = await setup.event("web.1")
    expirer.note(await setup.changes_since(start))
    first_write = await setup.store.current_revision()
    setup.clock.advance(1800)
    obj.event.count = 2  # aggregated: written again
    await setup.registry.update(obj)
    expirer.note(await setup.changes_since(first_write))
    setup.clock.advance(TTL - 1800 + 1)
    assert await expirer.expire_due() == 0, "the first schedule named a revision that is gone"
    assert await setup.names("Event") == ["web.1"]
    setup.clock.advance(1800)
    assert await expirer.expire_due() == 1
    assert await setup.names("Event") == []


async def test_events_stored_before_start_are_timed_from_their_last_timestamp(setup: Setup) -> None:
    await setup.event("old", written_at=setup.clock.now() - TTL - 5)
    await setup.event("recent", written_at=setup.clock.now() - 60)
    expirer = EventExpirer(setup.store, setup.cache, TTL, clock=setup.clock)
    await expirer.seed()
    assert await expirer.expire_due() == 1
    assert await setup.names("Event") == ["recent"]
    setup.clock.advance(TTL)
    assert await expirer.expire_due() == 1


async def test_run_expires_events_on_its_own(setup: Setup) -> None:
    expirer = EventExpirer(setup.store, setup.cache, 0.2)
    task = asyncio.create_task(expirer.run())
    try:
        await asyncio.sleep(0.05)  # subscribed
        await setup.event("web.1")

        async def gone() -> None:
            while await setup.names("Event"):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(gone(), 10)
        assert expirer.expired == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
