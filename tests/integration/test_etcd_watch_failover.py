"""A store watch outlives the etcd member it watches: 3 members on loopback, the watched member is
killed (-9) or frozen (SIGSTOP: connection open, nothing answers), and writes through another
member still reach the watcher, each once and in order. A quiet API server's client watch carries
on the same way."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest

from atoll.client import ApiError, Client
from atoll.watch_events import ADDED
from controller.apiserver.server import start_api_server
from controller.store.etcd import EtcdStore
from controller.store.protocol import KeyExistsError, StoreUnavailableError, WatchEvent
from tests.support.etcd_cluster import EtcdCluster, etcd_cluster
from tests.support.objects import make_pod
from tests.support.system import require_binary

pytestmark = pytest.mark.etcd

# Generous bound for a loaded CI machine; the point is that the events arrive at all.
ARRIVAL_TIMEOUT = 60.0
PROGRESS_INTERVAL = 1.0


@pytest.fixture
def cluster() -> Iterator[EtcdCluster]:
    with etcd_cluster(3, require_binary("etcd", "etcd-server")) as running:
        yield running


def lose_member(cluster: EtcdCluster, index: int, how: str) -> None:
    if how == "kill":
        cluster.kill(index)
        return
    process = cluster.members[index].process
    assert process is not None
    os.kill(process.pid, signal.SIGSTOP)


@contextlib.contextmanager
def resumed(cluster: EtcdCluster, index: int, how: str) -> Iterator[None]:
    try:
        yield
    finally:
        process = cluster.members[index].process
        if how == "stop" and process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)


@contextlib.asynccontextmanager
async def stores(*endpoint_lists: list[str]) -> AsyncIterator[list[EtcdStore]]:
    opened = [EtcdStore(endpoints, progress_interval=PROGRESS_INTERVAL) for endpoints in endpoint_lists]
    try:
        for store in opened:
            await store.connect()
        yield opened
    finally:
        for store in opened:
            await store.close()


async def store_create(store: EtcdStore, key: str, value: bytes) -> None:
    """Creates ``key``, retrying while etcd elects a new leader (an earlier try that did land
    shows as KeyExistsError)."""
    for _ in range(100):
        try:
            await store.create(key, value)
            return
        except KeyExistsError:
            return
        except StoreUnavailableError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"etcd never took {key}")


async def api_create(client: Client, name: str) -> None:
    """Creates pod ``name`` through ``client``, retrying while etcd elects a new leader."""
    for _ in range(100):
        try:
            await client.create(make_pod(name))
            return
        except ApiError as error:
            if error.code == grpc.StatusCode.ALREADY_EXISTS:
                return
            if error.code != grpc.StatusCode.UNAVAILABLE:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError(f"the API server never took pod {name}")


@pytest.mark.parametrize("how", ["kill", "stop"], ids=["member killed", "member frozen"])
async def test_store_watch_moves_to_another_member_without_losing_or_repeating_events(
    cluster: EtcdCluster, how: str
) -> None:
    async with stores(cluster.endpoints, cluster.endpoints[1:]) as (watcher, writer):
        start = await watcher.current_revision()
        seen: list[WatchEvent] = []
        arrived = asyncio.Event()
        wanted = {"/f/a", "/f/b", "/f/c", "/f/d"}

        async def follow() -> None:
            async for event in watcher.watch("/f/", start):
                seen.append(event)
                if wanted <= {e.kv.key for e in seen}:
                    arrived.set()

        task = asyncio.create_task(follow())
        try:
            await store_create(writer, "/f/a", b"1")
            await store_create(writer, "/f/b", b"2")
            await asyncio.sleep(0.5)  # the watch is established on member 0 and has seen a, b
            with resumed(cluster, 0, how):
                lose_member(cluster, 0, how)
                await store_create(writer, "/f/c", b"3")
                await store_create(writer, "/f/d", b"4")
                await asyncio.wait_for(arrived.wait(), ARRIVAL_TIMEOUT)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert [e.kv.key for e in seen] == ["/f/a", "/f/b", "/f/c", "/f/d"]
    revisions = [e.kv.mod_revision for e in seen]
    assert revisions == sorted(set(revisions))


async def test_quiet_api_server_keeps_serving_watches_when_its_etcd_member_dies(cluster: EtcdCluster) -> None:
    async with stores(cluster.endpoints, cluster.endpoints[1:]) as (quiet_store, busy_store):
        quiet = await start_api_server(quiet_store, compact_interval=None, event_ttl=None)
        busy = await start_api_server(busy_store, compact_interval=None, event_ttl=None)
        watcher, writer = Client.connect(quiet.address), Client.connect(busy.address)
        names: list[str] = []
        got_both = asyncio.Event()

        async def follow() -> None:
            async for event in watcher.list_then_watch("pods"):
                if event.type == ADDED:
                    names.append(event.object.pod.metadata.name)
                    if {"before", "after"} <= set(names):
                        got_both.set()

        task = asyncio.create_task(follow())
        try:
            await api_create(writer, "before")
            await asyncio.sleep(0.5)
            cluster.kill(0)
            await api_create(writer, "after")
            await asyncio.wait_for(got_both.wait(), ARRIVAL_TIMEOUT)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            for client in (watcher, writer):
                await client.close()
            for server in (quiet, busy):
                await server.stop(0)
    assert sorted(names) == ["after", "before"]
