"""Cluster IP allocation through the registry: requested and free addresses, exhaustion, release
on delete by any path, restart and repair, concurrent creates (controller/apiserver/service_ips/)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from atoll import kinds
from atoll.clock import ManualClock
from atoll.v1 import api_pb2, namespace_pb2, object_pb2
from controller.apiserver.errors import ForbiddenStateError, InvalidError
from controller.apiserver.namespaces import NamespaceIndex
from controller.apiserver.registry import Registry
from controller.apiserver.service_ips.allocator import ServiceIPAllocator
from controller.apiserver.service_ips.records import KEY_PREFIX, IPRecord, Owner, ip_key
from controller.apiserver.service_ips.repair import ServiceIPRepair
from controller.apiserver.service_ips.reserver import ClusterIPReserver
from controller.apiserver.watch_cache import WatchCache
from controller.store.memory import MemoryStore
from tests.support.objects import make_service

SERVICE = kinds.by_name("Service")
GRACE = 60.0


@dataclass
class Cluster:
    """One store, and an API server's registry, allocator and repair on it."""

    store: MemoryStore
    registry: Registry
    allocator: ServiceIPAllocator
    repair: ServiceIPRepair
    cache: WatchCache
    clock: ManualClock

    async def create(self, name: str, cluster_ip: str = "") -> str:
        created = await self.registry.create(make_service(name, cluster_ip=cluster_ip))
        return str(created.spec.cluster_ip)

    async def delete(self, name: str, policy: str = "") -> None:
        request = api_pb2.DeleteRequest(kind="Service", namespace="default", name=name, propagation_policy=policy)
        await self.registry.delete(request)

    async def keys(self) -> dict[str, str]:
        """Allocated address -> owning Service name."""
        listing = await self.store.range(KEY_PREFIX)
        owners = {kv.key[len(KEY_PREFIX) :]: IPRecord.decode(kv.value) for kv in listing.items}
        return {ip: record.owner.name for ip, record in owners.items() if record is not None}

    async def release_deletions_since(self, revision: int) -> None:
        """What the repair's watch does: free the addresses of Services deleted after ``revision``."""
        async with self.cache.subscribe(SERVICE, SERVICE.prefix(""), revision) as subscription:
            while self.cache.revision < await self.store.current_revision():
                await asyncio.sleep(0.01)
            for event in await subscription.next_batch(0.1):
                if event.deleted:
                    await self.repair.release_deleted(event.new)


async def start(store: MemoryStore, cidr: str = "10.96.0.0/29", clock: ManualClock | None = None) -> Cluster:
    clock = clock or ManualClock(start=1_800_000_000.0)
    namespaces = NamespaceIndex(store)
    cache = WatchCache(store, namespaces)
    await cache.start()
    allocator = ServiceIPAllocator(store, ipaddress.IPv4Network(cidr), clock, seed=7)
    await allocator.load()
    registry = Registry(
        store, namespaces, clock=clock, recent=cache.latest, reservers={"Service": ClusterIPReserver(allocator)}
    )
    with_default = object_pb2.Object(namespace=namespace_pb2.Namespace())
    with_default.namespace.metadata.name = "default"
    if await store.get(kinds.by_name("Namespace").key("", "default")) is None:
        await registry.create(with_default)
    repair = ServiceIPRepair(store, cache, allocator, clock, grace=GRACE)
    return Cluster(store, registry, allocator, repair, cache, clock)


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    started = await start(MemoryStore())
    yield started
    await started.cache.stop()


async def test_every_service_gets_its_own_address_until_the_range_is_exhausted(cluster: Cluster) -> None:
    ips = [await cluster.create(f"s{index}") for index in range(6)]
    assert sorted(ips) == [f"10.96.0.{host}" for host in range(1, 7)]  # never .0 nor .7 (broadcast)
    with pytest.raises(ForbiddenStateError, match=r"no address left in the service CIDR 10.96.0.0/29 \(6 addresses"):
        await cluster.create("s6")
    assert await cluster.store.get(SERVICE.key("default", "s6")) is None
    assert await cluster.keys() == {ip: f"s{index}" for index, ip in enumerate(ips)}


async def test_a_requested_address_is_honoured_when_free_and_in_range(cluster: Cluster) -> None:
    assert await cluster.create("dns", "10.96.0.5") == "10.96.0.5"
    with pytest.raises(InvalidError, match=r"10.96.0.5 is already allocated by service/dns in namespace default"):
        await cluster.create("other", "10.96.0.5")
    for outside in ("10.97.0.1", "10.96.0.0", "10.96.0.7"):
        with pytest.raises(InvalidError, match=rf"{outside} is not an address of the service CIDR 10.96.0.0/29"):
            await cluster.create("other", outside)
    assert await cluster.keys() == {"10.96.0.5": "dns"}


async def test_a_failed_create_gives_the_address_back(cluster: Cluster) -> None:
    await cluster.create("web", "10.96.0.2")
    with pytest.raises(Exception, match="already exists"):
        await cluster.create("web", "10.96.0.3")
    assert await cluster.keys() == {"10.96.0.2": "web"}


async def test_a_headless_service_takes_no_address(cluster: Cluster) -> None:
    assert await cluster.create("headless", "None") == "None"
    assert await cluster.keys() == {}


@pytest.mark.parametrize("policy", ["", "foreground"], ids=["deleted at once", "deleted when its finalizer goes"])
async def test_deleting_a_service_frees_its_address(cluster: Cluster, policy: str) -> None:
    ip = await cluster.create("web")
    revision = await cluster.store.current_revision()
    await cluster.delete("web", policy)
    if policy:  # the garbage collector removes the finalizer; the update deletes the Service
        stored = (await cluster.registry.read(SERVICE, "default", "web")).message
        del stored.metadata.finalizers[:]
        await cluster.registry.update(SERVICE.wrap(stored))
    await cluster.release_deletions_since(revision)
    assert await cluster.keys() == {}
    assert await cluster.create("again", ip) == ip


async def test_a_late_release_never_frees_an_address_another_service_took(cluster: Cluster) -> None:
    ip = await cluster.create("old")
    old = (await cluster.registry.read(SERVICE, "default", "old")).message
    assert await cluster.allocator.release(ip, old.metadata.uid)  # released, as on its deletion
    await cluster.store.delete(SERVICE.key("default", "old"))
    assert await cluster.create("new", ip) == ip
    assert not await cluster.repair.release_deleted(old)  # the old Service's deletion seen late
    assert await cluster.keys() == {ip: "new"}


async def test_a_restart_derives_what_is_taken_from_the_store() -> None:
    store = MemoryStore()
    first = await start(store)
    taken = {await first.create(f"s{index}") for index in range(5)}
    await first.cache.stop()
    second = await start(store)  # a new API server process: nothing in memory
    try:
        assert await second.create("last") not in taken
        with pytest.raises(ForbiddenStateError, match="no address left"):
            await second.create("one-too-many")
    finally:
        await second.cache.stop()


async def test_concurrent_creates_on_two_api_servers_never_share_an_address() -> None:
    store = MemoryStore()
    one, two = await start(store, "10.96.0.0/28"), await start(store, "10.96.0.0/28")
    try:
        names = [f"s{index}" for index in range(20)]
        outcomes = await asyncio.gather(
            *((one if index % 2 else two).create(name) for index, name in enumerate(names)), return_exceptions=True
        )
        ips = [outcome for outcome in outcomes if isinstance(outcome, str)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, ForbiddenStateError)]
        assert len(ips) == 14 and len(set(ips)) == 14  # a /28 hands out 14
        assert len(refused) == 6
    finally:
        await one.cache.stop()
        await two.cache.stop()


async def test_repair_restores_missing_keys_and_frees_orphans_after_the_grace(cluster: Cluster) -> None:
    ip = await cluster.create("kept")
    await cluster.store.delete(ip_key(ip))  # e.g. a snapshot restored without the address keys
    orphan = IPRecord(Owner("default", "crashed", "uid-1"), cluster.clock.now())
    await cluster.store.create(ip_key("10.96.0.6"), orphan.encode())  # a create that died after reserving
    outcome = await cluster.repair.repair()
    assert (outcome.restored, outcome.freed) == (1, 0)  # the orphan may still be a create in flight
    assert await cluster.keys() == {ip: "kept", "10.96.0.6": "crashed"}
    cluster.clock.advance(GRACE)
    outcome = await cluster.repair.repair()
    assert (outcome.restored, outcome.freed) == (0, 1)
    assert await cluster.keys() == {ip: "kept"}
    with pytest.raises(InvalidError, match="already allocated by service/kept"):
        await cluster.create("copy", ip)


async def test_the_repair_task_releases_deletions_it_watches(cluster: Cluster) -> None:
    task = asyncio.create_task(cluster.repair.run())
    try:
        while not cluster.cache.subscriber_count():  # its first pass done, it follows the watch
            await asyncio.sleep(0.01)
        await cluster.create("web")
        await cluster.delete("web")
        for _ in range(200):
            if not await cluster.keys():
                break
            await asyncio.sleep(0.01)
        assert await cluster.keys() == {}
    finally:
        task.cancel()
