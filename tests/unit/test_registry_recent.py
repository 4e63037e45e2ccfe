"""Registry writes based on a possibly stale recent copy (the watch cache's): the store's revision
check catches every stale base, so a write never loses or resurrects anything, and a conflict is
only ever reported from the store's own answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from atoll import kinds
from atoll.v1 import api_pb2, namespace_pb2, object_pb2
from controller.apiserver import codec
from controller.apiserver.errors import ConflictError, NotFoundError
from controller.apiserver.namespaces import NamespaceIndex
from controller.apiserver.registry import Registry, new_uid
from controller.apiserver.watch_cache import WatchCache
from controller.store.memory import MemoryStore
from tests.support.objects import make_event, make_node, make_pod

POD = kinds.by_name("Pod")
POD_KEY = POD.key("default", "web")


@dataclass
class Recent:
    """A controllable stand-in for WatchCache.latest: what a lagging watch would answer."""

    copies: dict[str, tuple[bytes, int]]
    lookups: int = 0

    def __call__(self, key: str) -> tuple[bytes, int] | None:
        self.lookups += 1
        return self.copies.get(key)


@dataclass
class Setup:
    store: MemoryStore
    registry: Registry
    recent: Recent

    async def remember(self, key: str) -> None:
        """Make ``recent`` answer what the store holds now (then let the store move on)."""
        kv = await self.store.get(key)
        assert kv is not None
        self.recent.copies[key] = (kv.value, kv.mod_revision)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    store = MemoryStore()
    recent = Recent({})
    registry = Registry(store, NamespaceIndex(store), recent=recent)
    namespace = object_pb2.Object(namespace=namespace_pb2.Namespace())
    namespace.namespace.metadata.name = "default"
    await registry.create(namespace)
    yield Setup(store, registry, recent)


async def _stored_pod(store: MemoryStore) -> object_pb2.Object:
    kv = await store.get(POD_KEY)
    assert kv is not None
    return object_pb2.Object(pod=codec.decode(POD, kv.value, kv.mod_revision))


async def test_a_current_recent_copy_saves_the_store_read(setup: Setup) -> None:
    await setup.registry.create(make_pod())
    await setup.remember(POD_KEY)
    status = await _stored_pod(setup.store)
    status.pod.status.phase = "Running"
    written = await setup.registry.update(status, status_only=True)
    assert written.status.phase == "Running"
    assert (await _stored_pod(setup.store)).pod.status.phase == "Running"
    assert setup.recent.lookups == 1


async def test_a_stale_copy_is_caught_and_the_write_lands_on_the_stores_version(setup: Setup) -> None:
    await setup.registry.create(make_pod())
    await setup.remember(POD_KEY)  # recent now lags what follows
    labelled = await _stored_pod(setup.store)
    labelled.pod.metadata.labels["tier"] = "front"
    await setup.registry.update(labelled)
    status = await _stored_pod(setup.store)
    status.pod.status.phase = "Running"
    status.pod.metadata.resource_version = 0  # unconditional, as agents write status
    await setup.registry.update(status, status_only=True)
    stored = (await _stored_pod(setup.store)).pod
    assert (stored.status.phase, stored.metadata.labels["tier"]) == ("Running", "front"), "nothing lost"


async def test_a_conditional_write_is_judged_by_the_store_not_the_stale_copy(setup: Setup) -> None:
    await setup.registry.create(make_pod())
    await setup.remember(POD_KEY)
    moved = await _stored_pod(setup.store)
    moved.pod.metadata.labels["tier"] = "front"
    await setup.registry.update(moved)
    current = await _stored_pod(setup.store)  # the caller read the store's newest revision
    current.pod.metadata.labels["tier"] = "back"
    written = await setup.registry.update(current)
    assert written.metadata.labels["tier"] == "back"
    old = await _stored_pod(setup.store)
    old.pod.metadata.resource_version = current.pod.metadata.resource_version  # now stale for real
    old.pod.metadata.labels["tier"] = "middle"
    with pytest.raises(ConflictError):
        await setup.registry.update(old)


async def test_nothing_to_write_is_only_believed_from_the_store(setup: Setup) -> None:
    await setup.registry.create(make_pod())
    running = await _stored_pod(setup.store)
    running.pod.status.phase = "Running"
    await setup.registry.update(running, status_only=True)
    await setup.remember(POD_KEY)  # recent says Running
    failed = await _stored_pod(setup.store)
    failed.pod.status.phase = "Failed"
    await setup.registry.update(failed, status_only=True)  # the store moved on; recent did not
    running.pod.metadata.resource_version = 0
    await setup.registry.update(running, status_only=True)  # same as the stale copy, not the store
    assert (await _stored_pod(setup.store)).pod.status.phase == "Running"


async def test_a_copy_of_a_deleted_object_does_not_resurrect_it(setup: Setup) -> None:
    await setup.registry.create(make_pod())
    await setup.remember(POD_KEY)
    await setup.registry.delete(api_pb2.DeleteRequest(kind="Pod", namespace="default", name="web"))
    ghost = object_pb2.Object()
    ghost.pod.metadata.name, ghost.pod.metadata.namespace = "web", "default"
    ghost.pod.status.phase = "Running"
    with pytest.raises(NotFoundError):
        await setup.registry.update(ghost, status_only=True)
    assert await setup.store.get(POD_KEY) is None


async def test_bind_with_a_stale_copy_checks_the_expected_revision_against_the_store(setup: Setup) -> None:
    await setup.registry.create(make_node("n1"))
    await setup.registry.create(make_pod())
    await setup.remember(POD_KEY)
    moved = await _stored_pod(setup.store)
    moved.pod.metadata.labels["tier"] = "front"
    await setup.registry.update(moved)
    revision = (await _stored_pod(setup.store)).pod.metadata.resource_version
    binding = api_pb2.Binding(
        kind="Pod", namespace="default", name="web", node_name="n1", expected_resource_version=revision
    )
    result = await setup.registry.bind_one(binding)
    assert result.code == "OK", result.message
    bound = (await _stored_pod(setup.store)).pod
    assert (bound.spec.node_name, bound.metadata.labels["tier"]) == ("n1", "front")


async def test_the_watch_cache_keeps_the_newest_copy_of_live_objects_except_events() -> None:
    store = MemoryStore()
    namespaces = NamespaceIndex(store)
    cache = WatchCache(store, namespaces)
    await cache.start()
    registry = Registry(store, namespaces, recent=cache.latest)
    try:
        namespace = object_pb2.Object(namespace=namespace_pb2.Namespace())
        namespace.namespace.metadata.name = "default"
        await registry.create(namespace)
        created = await registry.create(make_pod())
        await registry.create(make_event("web.1"))

        async def caught_up() -> None:
            while cache.revision < await store.current_revision():
                await asyncio.sleep(0.01)

        await asyncio.wait_for(caught_up(), 5)
        latest = cache.latest(POD_KEY)
        assert latest is not None and latest[1] == created.metadata.resource_version
        assert cache.latest(kinds.by_name("Event").key("default", "web.1")) is None
        await registry.delete(api_pb2.DeleteRequest(kind="Pod", namespace="default", name="web"))
        await asyncio.wait_for(caught_up(), 5)
        assert cache.latest(POD_KEY) is None
    finally:
        await cache.stop()


def test_new_uid_is_a_random_version_4_uuid() -> None:
    uids = {new_uid() for _ in range(1000)}
    assert len(uids) == 1000
    for uid in list(uids)[:50]:
        parsed = uuid.UUID(uid)
        assert (str(parsed), parsed.version, parsed.variant) == (uid, 4, uuid.RFC_4122)
