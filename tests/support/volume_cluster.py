"""An API server with the scheduler, the volume binding controller (and the other controllers
asked for) and the two default storage classes: what tests of workloads on claims run against."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from allinone.storage_classes import default_storage_classes
from controller.main import run_controllers
from controller.manager import ControllerOptions
from controller.store.memory import MemoryStore
from scheduler.main import run_scheduler
from tests.support.cluster import Cluster, running_cluster


@contextlib.asynccontextmanager
async def volume_cluster(*controllers: str) -> AsyncIterator[Cluster]:
    """The cluster with ``volume-binding`` and ``controllers`` running."""
    async with running_cluster(MemoryStore()) as cluster:
        for storage_class in default_storage_classes():
            await cluster.client.create(storage_class)
        stop = asyncio.Event()
        options = ControllerOptions(controllers=("volume-binding", *controllers))
        running = asyncio.create_task(run_controllers(cluster.api.address, stop, options=options))
        scheduler = asyncio.create_task(run_scheduler(cluster.api.address, stop=stop))
        try:
            yield cluster
        finally:
            stop.set()
            await running
            await scheduler
