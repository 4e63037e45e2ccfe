"""Leader failover by kill -9: two atoll-controller processes, one acts; kill it, the other takes
over within one lease duration (plus a retry period) and acts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator

from atoll.client import ApiError
from controller.store.memory import MemoryStore
from tests.support.cluster import Cluster, running_cluster
from tests.support.eventually import eventually
from tests.support.fake_nodes import FakeNodes
from tests.unit.controllers.builders import make_deployment

LEASE_DURATION = 2.0
RETRY_PERIOD = 0.25


@contextlib.asynccontextmanager
async def controller_process(server: str, identity: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller.main", "--server", server, "--leader-elect", "--identity", identity,
        "--lease-duration", str(LEASE_DURATION), "--renew-deadline", "1.5", "--retry-period", str(RETRY_PERIOD),
        "--controllers", "deployment", "--log-level", "WARNING",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def holder(cluster: Cluster) -> str:
    """The identity holding the controller Lease ("" while there is none)."""
    try:
        lease = (await cluster.client.get("Lease", "atoll-controller", "atoll-system")).lease
    except ApiError:
        return ""
    return str(lease.spec.holder_identity)


async def pod_count(cluster: Cluster) -> int:
    items, _ = await cluster.client.list_all("Pod")
    return len(items)


async def test_killing_the_leader_hands_over_within_one_lease_duration() -> None:
    async with running_cluster(MemoryStore()) as cluster:
        nodes = await FakeNodes(cluster.client, ["n1", "n2"]).start()
        address = cluster.api.address
        async with controller_process(address, "a") as a, controller_process(address, "b") as b:
            first = await eventually(lambda: holder(cluster), timeout=30)
            await cluster.client.create(make_deployment(replicas=2))
            await eventually(lambda: _equals(pod_count(cluster), 2), timeout=10)
            leader, follower = (a, "b") if first == "a" else (b, "a")
            leader.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await eventually(lambda: _equals(holder(cluster), follower), timeout=10, interval=0.02)
            takeover = time.monotonic() - killed_at
            assert takeover <= LEASE_DURATION + 2 * RETRY_PERIOD + 0.5, f"took {takeover:.2f}s"
            web = (await cluster.client.get("Deployment", "web")).deployment
            web.spec.replicas = 4
            await cluster.client.update(web)
            await eventually(lambda: _equals(pod_count(cluster), 4), timeout=10)
        await nodes.stop()


async def _equals(awaitable: object, expected: object) -> bool:
    value = await awaitable  # type: ignore[misc]
    assert value == expected, f"{value!r} != {expected!r}"
    return True
