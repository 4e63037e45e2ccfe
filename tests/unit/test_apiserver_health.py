"""The API server's gRPC health follows its store: NOT_SERVING while the store fails, SERVING
again when it answers; every Watch hears every change, also after another watcher left."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from grpc_health.v1 import health_pb2

from controller.apiserver.health import NOT_SERVING, SERVING, HealthServicer, follow_store_health
from controller.store.memory import MemoryStore
from controller.store.protocol import StoreUnavailableError

OBJECTS = "atoll.v1.Objects"


class FlakyStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def current_revision(self) -> int:
        if self.down:
            raise StoreUnavailableError("etcd at 127.0.0.1:2379 is unavailable: connection refused")
        return await super().current_revision()


async def next_status(stream: Any) -> int:
    response = await asyncio.wait_for(anext(stream), 5)
    return int(response.status)


async def test_every_watcher_hears_every_change_even_after_another_left() -> None:
    health = HealthServicer()
    health.set(OBJECTS, SERVING)
    request = health_pb2.HealthCheckRequest(service=OBJECTS)
    leaving, staying = health.Watch(request, None), health.Watch(request, None)
    assert await next_status(leaving) == SERVING
    assert await next_status(staying) == SERVING
    await leaving.aclose()
    health.set(OBJECTS, NOT_SERVING)
    assert await next_status(staying) == NOT_SERVING
    health.enter_graceful_shutdown()
    health.set(OBJECTS, SERVING)  # ignored: shutting down
    assert health.status(OBJECTS) == NOT_SERVING
    await staying.aclose()


async def test_health_follows_the_store_down_and_up_again() -> None:
    store, health = FlakyStore(), HealthServicer()
    health.set(OBJECTS, SERVING)
    task = asyncio.create_task(follow_store_health(store, health, ("", OBJECTS), interval=0.01, timeout=1))
    try:
        store.down = True
        for _ in range(500):
            if health.status(OBJECTS) == NOT_SERVING:
                break
            await asyncio.sleep(0.01)
        assert health.status(OBJECTS) == NOT_SERVING and health.status("") == NOT_SERVING
        store.down = False
        for _ in range(500):
            if health.status(OBJECTS) == SERVING:
                break
            await asyncio.sleep(0.01)
        assert health.status(OBJECTS) == SERVING
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
