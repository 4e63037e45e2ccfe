"""gRPC health (grpc.health.v1) on asyncio, and the loop that ties it to the store's health.

Clients given several API servers route only to those whose Watch says SERVING for the Objects
service (atoll/server_addresses.py), so a server that cannot reach its store must say NOT_SERVING
and take no new calls until the store answers again.

grpc_health's own servicers do not fit: the sync one parks a thread per Watch (an asyncio server
then never shuts down) and the asyncio one forgets every watcher of a service when one of them
leaves, so later changes reach nobody.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from controller.apiserver.metrics import STORE_HEALTHY, WATCH_LAG
from controller.store.protocol import Store

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
STORE_PROBE_INTERVAL_SECONDS = 2.0
STORE_PROBE_TIMEOUT_SECONDS = 5.0


class HealthServicer:
    """Check and Watch per service name ("" is the whole server); ``set`` wakes every Watch."""

    def __init__(self) -> None:
        self._status: dict[str, int] = {"": int(SERVING)}
        self._changed = asyncio.Event()
        self._shutting_down = False

    def set(self, service: str, status: int) -> None:
        """Records ``status`` for ``service``; ignored once graceful shutdown has begun."""
        if self._shutting_down:
            return
        self._publish(service, status)

    def status(self, service: str) -> int:
        return self._status.get(service, int(SERVICE_UNKNOWN))

    def enter_graceful_shutdown(self) -> None:
        """Every service NOT_SERVING from now on, whatever is set later."""
        for service in list(self._status):
            self._publish(service, NOT_SERVING)
        self._shutting_down = True

    async def Check(self, request: health_pb2.HealthCheckRequest, context: Any) -> health_pb2.HealthCheckResponse:
        status = self._status.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service[:200]!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        last: int | None = None
        while True:
            changed = self._changed
            status = self.status(request.service)
            if status != last:
                yield health_pb2.HealthCheckResponse(status=status)
                last = status
            await changed.wait()

    def _publish(self, service: str, status: int) -> None:
        self._status[service] = status
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


async def follow_store_health(
    store: Store,
    health: HealthServicer,
    services: tuple[str, ...],
    *,
    seen_revision: Callable[[], int] | None = None,
    interval: float = STORE_PROBE_INTERVAL_SECONDS,
    timeout: float = STORE_PROBE_TIMEOUT_SECONDS,
) -> None:
    """Forever: every ``interval`` seconds asks the store for its revision; ``services`` are
    NOT_SERVING while that fails or takes longer than ``timeout``, SERVING again once it answers.
    Each change is one log line (the store's error, cut short) and the store-healthy gauge; the
    watch-lag gauge is the store's revision minus ``seen_revision()`` (the watch cache's)."""
    healthy = True
    STORE_HEALTHY.set(1)
    while True:
        await asyncio.sleep(interval)
        try:
            async with asyncio.timeout(timeout):
                revision = await store.current_revision()
            problem = ""
            if seen_revision is not None:
                WATCH_LAG.set(max(0, revision - seen_revision()))
        except TimeoutError:
            problem = f"no answer within {timeout:g} s"
        except Exception as error:  # every store failure means the same here: not serving
            problem = " ".join(str(error).split())[:300] or type(error).__name__
        if bool(problem) == (not healthy):
            continue
        healthy = not problem
        STORE_HEALTHY.set(1 if healthy else 0)
        for service in services:
            health.set(service, SERVING if healthy else NOT_SERVING)
        if healthy:
            log.warning("store answers again; serving")
        else:
            log.warning("store unreachable (%s); NOT_SERVING on gRPC health until it answers", problem)
