"""Node heartbeats: one Lease per node in namespace ``atoll-node-lease``, renewed every interval.

One LeaseKeeper serves any number of nodes (one for a real agent, thousands for a hollow
fleet). Renewals are spread evenly over the interval in ``slots`` buckets so that 5,000 nodes
make a steady trickle of Updates instead of a burst, with at most ``concurrency`` in flight on
the shared connection. A renewal is an unconditional Update (only this node's agent writes its
Lease); a missing Lease is created.
"""

from __future__ import annotations

import asyncio
import logging
import time

import grpc

from agent import metrics
from agent.config import LEASE_NAMESPACE
from atoll.client import ApiError, Client
from atoll.clock import Clock
from atoll.v1 import lease_pb2

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self, client: Client, clock: Clock, *, interval: float = 10.0, duration: int = 40,
                 slots: int = 50, concurrency: int = 64) -> None:
        self._client = client
        self._clock = clock
        self.interval = interval
        self.duration = duration
        self._slots = max(1, slots)
        self._limit = asyncio.Semaphore(concurrency)
        self._nodes: list[str] = []
        self._acquired: dict[str, int] = {}
        self.renewals = 0
        self.failures = 0

    def add(self, node_name: str) -> None:
        if node_name not in self._acquired:
            self._nodes.append(node_name)
            self._acquired[node_name] = 0

    def remove(self, node_name: str) -> None:
        if node_name in self._acquired:
            self._nodes.remove(node_name)
            del self._acquired[node_name]

    async def renew_all(self) -> None:
        """Renew every node's Lease once, now (registration calls it before the loop starts)."""
        await asyncio.gather(*(self.renew(name) for name in list(self._nodes)))

    async def run(self, stop: asyncio.Event) -> None:
        """Renew each node once per interval until ``stop`` is set; node i goes in slot i % slots."""
        slot = 0
        while not stop.is_set():
            await self._clock.sleep(self.interval / self._slots)
            due = self._nodes[slot :: self._slots]
            slot = (slot + 1) % self._slots
            if due:
                await asyncio.gather(*(self.renew(name) for name in due))

    async def renew(self, node_name: str) -> None:
        """Write the Lease of ``node_name`` with renew_time = now; never raises for API errors."""
        lease = lease_pb2.Lease()
        lease.metadata.name = node_name
        lease.metadata.namespace = LEASE_NAMESPACE
        spec = lease.spec
        spec.holder_identity = node_name
        spec.lease_duration_seconds = self.duration
        now = int(self._clock.now() * 1e9)
        spec.renew_time.FromNanoseconds(now)
        acquired = self._acquired.get(node_name) or now
        spec.acquire_time.FromNanoseconds(acquired)
        async with self._limit:
            started = time.perf_counter()
            try:
                try:
                    await self._client.update(lease)
                except ApiError as err:
                    if err.code != grpc.StatusCode.NOT_FOUND:
                        raise
                    await self._client.create(lease)
                self._acquired[node_name] = acquired
                self.renewals += 1
            except ApiError as err:
                self.failures += 1
                metrics.LEASE_RENEWAL_FAILURES.inc()
                log.warning("lease of node %s not renewed: %s", node_name, err.message)
            finally:
                metrics.LEASE_RENEWAL_DURATION.observe(time.perf_counter() - started)
