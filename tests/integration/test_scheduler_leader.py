"""Scheduler replicas: two atoll-scheduler processes with --leader-elect, one schedules; kill -9 it
and the other takes over within one lease duration and keeps placing pods."""

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
from tests.support.objects import make_node, make_pod

LEASE_DURATION = 2.0
RETRY_PERIOD = 0.25


@contextlib.asynccontextmanager
async def scheduler_process(server: str, identity: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scheduler.main", "--server", server, "--leader-elect", "--identity", identity,
        "--lease-duration", str(LEASE_DURATION), "--renew-deadline", "1.5", "--retry-period", str(RETRY_PERIOD),
        "--metrics-listen", "127.0.0.1:0",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def holder(cluster: Cluster) -> str:
    try:
        lease = (await cluster.client.get("Lease", "atoll-scheduler", "atoll-system")).lease
    except ApiError:
        return ""
    return str(lease.spec.holder_identity)


async def bound(cluster: Cluster, name: str) -> bool:
    return bool((await cluster.client.get("pod", name)).pod.spec.node_name)


async def test_a_standby_scheduler_takes_over_after_the_leader_is_killed() -> None:
    async with running_cluster(MemoryStore()) as cluster:
        await cluster.client.create(make_node("n1"))
        address = cluster.api.address
        async with scheduler_process(address, "a") as a, scheduler_process(address, "b") as b:
            first = await eventually(lambda: holder(cluster), timeout=30)
            await cluster.client.create(make_pod("before"))
            await eventually(lambda: bound(cluster, "before"), timeout=10)
            leader, follower = (a, "b") if first == "a" else (b, "a")
            leader.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()

            async def follower_holds() -> bool:
                return await holder(cluster) == follower

            await eventually(follower_holds, timeout=10, interval=0.02)
            assert time.monotonic() - killed_at <= LEASE_DURATION + 2 * RETRY_PERIOD + 0.5
            await cluster.client.create(make_pod("after"))
            await eventually(lambda: bound(cluster, "after"), timeout=10)
