"""An in-process API server with the controllers and fake nodes running against it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from atoll.client import Client
from controller.main import run_controllers
from controller.manager import ControllerOptions
from controller.store.memory import MemoryStore
from tests.support.cluster import Cluster, running_cluster
from tests.support.fake_nodes import FakeNodes


@dataclass
class ControlledCluster:
    cluster: Cluster
    nodes: FakeNodes

    @property
    def client(self) -> Client:
        return self.cluster.client


@contextlib.asynccontextmanager
async def controlled_cluster(
    node_count: int = 3, options: ControllerOptions | None = None, heartbeat: float = 0.2
) -> AsyncIterator[ControlledCluster]:
    async with running_cluster(MemoryStore()) as cluster:
        nodes = await FakeNodes(cluster.client, [f"node-{i}" for i in range(node_count)], heartbeat=heartbeat).start()
        stop = asyncio.Event()
        controllers = asyncio.create_task(run_controllers(cluster.api.address, stop, options=options))
        try:
            yield ControlledCluster(cluster, nodes)
        finally:
            stop.set()
            await controllers
            await nodes.stop()
