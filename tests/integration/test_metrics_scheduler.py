"""``atoll-scheduler --metrics-listen``: every declared family is served, and placing one pod shows
up as one scheduled attempt, one end-to-end latency sample, sampled plugin latencies and an empty
queue."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from controller.store.memory import MemoryStore
from scheduler import metrics
from tests.support.cluster import Cluster, running_cluster
from tests.support.eventually import eventually
from tests.support.metrics_scrape import Families, declared, free_port, scrape, value
from tests.support.objects import make_node, make_pod


@pytest.fixture
async def scheduled() -> AsyncIterator[tuple[Cluster, str]]:
    async with running_cluster(MemoryStore()) as cluster:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "scheduler.main", "--server", cluster.api.address,
            "--metrics-listen", f"127.0.0.1:{port}", stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            yield cluster, f"http://127.0.0.1:{port}/metrics"
        finally:
            process.terminate()
            await process.wait()


async def test_a_placed_pod_is_counted_and_timed(scheduled: tuple[Cluster, str]) -> None:
    cluster, url = scheduled
    await cluster.client.create(make_node("n1"))
    await cluster.client.create(make_pod("web"))

    async def placed() -> Families:
        families = await asyncio.to_thread(scrape, url)
        assert value(families, "atoll_scheduler_schedule_attempts_total", result="scheduled") == 1
        return families

    families = await eventually(placed, timeout=20, interval=0.2)
    assert declared(metrics.REGISTRY) - set(families) == set()
    assert value(families, "atoll_scheduler_e2e_scheduling_duration_seconds_count") == 1
    assert value(families, "atoll_scheduler_bind_duration_seconds_count") == 1
    fit = value(families, "atoll_scheduler_plugin_duration_seconds_count", plugin="NodeResourcesFit",
                extension_point="Filter")
    assert fit == 1, "the first cycle is sampled"
    assert value(families, "atoll_scheduler_pending_workloads", queue="active") == 0
    assert value(families, "atoll_scheduler_oldest_pending_workload_age_seconds") == 0
    assert value(families, "atoll_scheduler_schedule_attempts_total", result="unschedulable") == 0
