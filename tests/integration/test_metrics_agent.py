"""``atoll-agent --metrics-listen``: every declared family is served; its node's capacity,
allocatable and allocation, a running pod by kind and phase, driver latencies and lease renewals."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from agent import metrics
from controller.store.memory import MemoryStore
from tests.integration.agent_harness import node_ipam
from tests.support.cluster import Cluster, running_cluster
from tests.support.eventually import eventually
from tests.support.metrics_scrape import Families, declared, free_port, scrape, value
from tests.support.objects import make_pod

NODE = "metrics-node"


@pytest.fixture
async def agent() -> AsyncIterator[tuple[Cluster, str]]:
    async with running_cluster(MemoryStore()) as cluster, node_ipam(cluster.api.address):
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent.main", "--server", cluster.api.address, "--node-name", NODE,
            "--driver", "sim-linux", "--lease-interval", "1", "--metrics-listen", f"127.0.0.1:{port}",
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            yield cluster, f"http://127.0.0.1:{port}/metrics"
        finally:
            process.terminate()
            await process.wait()


async def test_a_running_pod_shows_in_phase_allocation_and_driver_latency(agent: tuple[Cluster, str]) -> None:
    cluster, url = agent
    pod = make_pod("web")  # requests 100m cpu, 64Mi memory
    pod.pod.spec.node_name = NODE
    await cluster.client.create(pod)

    async def running() -> Families:
        families = await asyncio.to_thread(scrape, url)
        assert value(families, "atoll_agent_workloads", kind="Pod", phase="Running") == 1
        return families

    families = await eventually(running, timeout=20, interval=0.2)
    assert declared(metrics.REGISTRY) - set(families) == set()
    capacity = value(families, "atoll_agent_node_cpu_capacity_cores", node=NODE)
    allocatable = value(families, "atoll_agent_node_cpu_allocatable_cores", node=NODE)
    assert capacity is not None and allocatable is not None and 0 < allocatable < capacity
    assert value(families, "atoll_agent_node_cpu_allocated_cores", node=NODE) == pytest.approx(0.1)
    assert value(families, "atoll_agent_node_memory_allocated_bytes", node=NODE) == 64 * 2**20
    assert value(families, "atoll_agent_node_pods_allocated", node=NODE) == 1
    started = value(families, "atoll_agent_driver_operation_duration_seconds_count", driver="sim-linux",
                    operation="start")
    assert started == 1
    renewals = value(families, "atoll_agent_lease_renewal_duration_seconds_count")
    assert renewals is not None and renewals >= 1
    assert value(families, "atoll_agent_lease_renewal_failures_total") == 0
    assert value(families, "atoll_agent_restarts_total", kind="container") == 0
