"""Of several API servers on one store, one compacts and expires Events: the holder of the Lease
atoll-system/atoll-apiserver-singletons. When it stops, another takes the Lease and the work."""

from __future__ import annotations

import asyncio
from typing import Any

from atoll.client import ApiError, Client
from atoll.v1 import config_pb2
from controller.apiserver.server import ApiServer, start_api_server
from controller.apiserver.singletons import LEASE_NAME
from controller.store.memory import MemoryStore

WAIT = 30.0


class CountingStore:
    """One server's view of a shared store, counting the compactions that server asks for."""

    def __init__(self, shared: MemoryStore) -> None:
        self._shared = shared
        self.compactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shared, name)

    async def compact(self, revision: int) -> None:
        self.compactions += 1
        await self._shared.compact(revision)


async def holder(client: Client) -> str:
    try:
        lease = (await client.get("lease", LEASE_NAME, "atoll-system")).lease
    except ApiError:
        return ""
    return lease.spec.holder_identity


async def until(condition: Any) -> None:
    async with asyncio.timeout(WAIT):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_one_server_compacts_and_another_takes_over_when_it_stops() -> None:
    shared = MemoryStore()
    stores = [CountingStore(shared) for _ in range(2)]
    servers: list[ApiServer] = [
        await start_api_server(store, compact_interval=0.1, event_ttl=60)  # type: ignore[arg-type]
        for store in stores
    ]
    client = Client.connect(f"{servers[0].address},{servers[1].address}")
    try:

        async def some_compactions() -> bool:
            return sum(store.compactions for store in stores) >= 3

        async def held() -> bool:
            return bool(await holder(client))

        await until(held)
        first = await holder(client)
        for index in range(5):  # writes, so there is history to compact
            await client.apply(_config_map(f"c{index}"))
        await until(some_compactions)
        working = [index for index, store in enumerate(stores) if store.compactions]
        assert len(working) == 1, [store.compactions for store in stores]
        leader = working[0]
        await servers[leader].stop(0)
        other = stores[1 - leader]

        async def taken_over() -> bool:
            return bool(await holder(client)) and await holder(client) != first

        await until(taken_over)
        for index in range(5):
            await client.apply(_config_map(f"d{index}"))

        async def other_compacts() -> bool:
            return other.compactions >= 2

        await until(other_compacts)
    finally:
        await client.close()
        for server in servers:
            await server.stop(0)


def _config_map(name: str) -> config_pb2.ConfigMap:
    config_map = config_pb2.ConfigMap()
    config_map.metadata.name = name
    config_map.metadata.namespace = "default"
    config_map.data["k"] = name
    return config_map
