"""An in-process API server on a free loopback port, with a connected client, for tests and benchmarks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from atoll.client import Client
from controller.apiserver.server import ApiServer, start_api_server
from controller.store.protocol import Store


@dataclass
class Cluster:
    store: Store
    api: ApiServer
    client: Client


@contextlib.asynccontextmanager
async def running_cluster(store: Store, *, http_listen: str | None = None) -> AsyncIterator[Cluster]:
    """Starts an API server on ``store`` (and its HTTP API on ``http_listen``); stops it and
    closes the store afterwards."""
    api = await start_api_server(store, "127.0.0.1:0", http_listen=http_listen)
    client = Client.connect(api.address)
    try:
        yield Cluster(store, api, client)
    finally:
        await client.close()
        await api.stop(grace=0.1)
        await store.close()
