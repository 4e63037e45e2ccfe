"""Two API servers on one etcd (and on one in-process store) hand out cluster IPs over real gRPC: under
concurrent creates no address is given twice, the range runs out at exactly its size, and an
address one server frees on delete the other hands out again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from atoll.client import ApiError, Client
from controller.apiserver.server import start_api_server
from controller.store.factory import open_store
from tests.support.etcd_server import etcd_server
from tests.support.objects import make_service
from tests.support.system import require_binary

SERVICE_CIDR = "10.70.0.0/27"  # 30 addresses


@contextlib.asynccontextmanager
async def two_servers(backend: str, tmp_path: Path) -> AsyncIterator[tuple[Client, Client]]:
    """Two API servers, each with its own connection to one etcd (or sharing one memory store),
    and a client of each."""
    with contextlib.ExitStack() as stack:
        if backend == "etcd":
            require_binary("etcd", "etcd-server")
            spec = f"etcd://{stack.enter_context(etcd_server())}"
            stores = [await open_store(spec, tmp_path) for _ in range(2)]
        else:
            shared = await open_store(backend, tmp_path)
            stores = [shared, shared]
        servers = [await start_api_server(store, "127.0.0.1:0", service_cidr=SERVICE_CIDR) for store in stores]
        clients = [Client.connect(server.address) for server in servers]
        try:
            yield clients[0], clients[1]
        finally:
            for client in clients:
                await client.close()
            for server in servers:
                await server.stop(grace=0.1)
            for store in {id(store): store for store in stores}.values():
                await store.close()


@pytest.mark.parametrize("backend", [pytest.param("etcd", marks=pytest.mark.etcd), "memory"])
async def test_concurrent_creates_on_two_servers_never_share_an_address(backend: str, tmp_path: Path) -> None:
    async with two_servers(backend, tmp_path) as (one, two):

        async def create(index: int) -> str:
            client = one if index % 2 else two
            created = await client.create(make_service(f"s{index}"))
            return str(created.service.spec.cluster_ip)

        outcomes = await asyncio.gather(*(create(index) for index in range(36)), return_exceptions=True)
        ips = [outcome for outcome in outcomes if isinstance(outcome, str)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, ApiError)]
        assert len(ips) == 30 and len(set(ips)) == 30, outcomes
        assert len(refused) == 6
        assert all(error.code == grpc.StatusCode.FAILED_PRECONDITION for error in refused)
        assert all("no address left in the service CIDR 10.70.0.0/27" in error.message for error in refused)

        created = [index for index, outcome in enumerate(outcomes) if isinstance(outcome, str)]
        freed_name, freed_ip = f"s{created[0]}", ips[0]
        await one.delete("Service", freed_name)
        for _ in range(100):  # the deleting server's repair frees it from its watch
            try:
                again = await two.create(make_service("again", cluster_ip=freed_ip))
                break
            except ApiError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail(f"{freed_ip} was never freed")
        assert again.service.spec.cluster_ip == freed_ip
