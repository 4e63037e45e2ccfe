"""Extended resources end to end: a hollow fleet file declares one GPU node, the real scheduler
places a GPU pod there (where it runs), and a second GPU pod waits with the reason in its status,
its FailedScheduling Event and `atoll describe`. A pod asking for a GPU the API refuses to store
when its request and limit differ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import yaml

from agent.config import AgentConfig
from agent.drivers.sim.hypervisor import SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.hollow.fleet import parse_fleet
from agent.hollow.hollow_fleet import HollowFleet
from agent.run import run_agent
from atoll import kinds
from atoll.cli.describe import related_events, render
from atoll.client import ApiError, Client
from atoll.v1 import object_pb2
from scheduler.main import run_scheduler
from tests.integration.agent_harness import cluster, node_ipam
from tests.support.objects import make_pod

pytestmark = pytest.mark.timeout(60)

GPU = "nvidia.com/gpu"
FLEET = """
nodes:
- {count: 2, namePrefix: cpu-, cpu: "8", memory: 16Gi}
- {count: 1, namePrefix: gpu-, cpu: "8", memory: 16Gi, extendedResources: {nvidia.com/gpu: 1}}
"""
WAITING = "0/3 nodes are available: 3 insufficient nvidia.com/gpu."


def gpu_pod(name: str, request: str = "1", limit: str = "1") -> object_pb2.Object:
    pod = make_pod(name)
    resources = pod.pod.spec.containers[0].resources
    resources.requests[GPU] = request
    resources.limits[GPU] = limit
    return pod


async def eventually(client: Client, name: str, check: Any, timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        pod = kinds.unwrap(await client.get("Pod", name))
        if check(pod):
            return pod
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"pod {name} never got there: {pod}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def gpu_cluster() -> AsyncIterator[Client]:
    async with cluster() as c, node_ipam(c.api.address):
        fleet = HollowFleet(c.client, parse_fleet(yaml.safe_load(FLEET)), config=AgentConfig(lease_interval=0.5))
        await fleet.start()
        stop = asyncio.Event()
        scheduler = asyncio.create_task(run_scheduler(c.api.address, stop=stop))
        try:
            yield c.client
        finally:
            stop.set()
            await asyncio.wait_for(scheduler, 10)
            await fleet.close()


async def test_the_gpu_pod_lands_on_the_gpu_node_and_a_second_one_waits_with_the_reason(gpu_cluster: Client) -> None:
    client = gpu_cluster
    node = kinds.unwrap(await client.get("Node", "gpu-0000"))
    assert (node.status.capacity[GPU], node.status.allocatable[GPU]) == ("1", "1")
    await client.create(gpu_pod("train"))
    first = await eventually(client, "train", lambda p: p.status.phase == "Running")
    assert first.spec.node_name == "gpu-0000"

    await client.create(gpu_pod("train-2"))
    second = await eventually(client, "train-2", lambda p: bool(p.status.conditions))
    assert not second.spec.node_name
    condition = second.status.conditions[0]
    assert (condition.type, condition.status, condition.message) == ("PodScheduled", "False", WAITING)

    async def failed_scheduling() -> list[Any]:
        events, _ = await client.list_all("Event", "default")
        return [e for e in events if e.event.reason == "FailedScheduling" and e.event.involved_object.name == "train-2"]

    deadline = asyncio.get_running_loop().time() + 20
    while not (found := await failed_scheduling()):
        assert asyncio.get_running_loop().time() < deadline, "no FailedScheduling Event"
        await asyncio.sleep(0.05)
    assert found[0].event.message == WAITING
    events, _ = await client.list_all("Event", "default")
    pod = await client.get("Pod", "train-2")
    described = render(pod, related_events(pod, events), now=0.0)
    assert WAITING in described and "FailedScheduling" in described

    forced = gpu_pod("forced")
    forced.pod.spec.node_name = "cpu-0000"  # past the scheduler: the node's agent refuses it
    await client.create(forced)
    refused = await eventually(client, "forced", lambda p: p.status.phase == "Failed")
    assert refused.status.reason == "OutOfnvidia.com/gpu"

    await client.delete("Pod", "train")  # the unit comes free: the waiting pod takes it
    placed = await eventually(client, "train-2", lambda p: bool(p.spec.node_name))
    assert placed.spec.node_name == "gpu-0000"


async def test_a_gpu_request_unequal_to_its_limit_is_refused_with_the_field() -> None:
    async with cluster() as c:
        with pytest.raises(ApiError) as err:
            await c.client.create(gpu_pod("greedy", request="1", limit="2"))
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "spec.containers[0].resources.requests[nvidia.com/gpu]" in str(err.value)
        with pytest.raises(ApiError):
            await c.client.get("Pod", "greedy")


async def test_an_agent_configured_with_extended_resources_reports_them() -> None:
    """``atoll-agent --extended-resource nvidia.com/gpu=2`` (parsed by agent/host/devices.py) on
    this host: the configured count replaces whatever the host's /dev offers."""
    async with cluster() as c:
        stop = asyncio.Event()
        drivers = [SimLinuxDriver.name, SimHypervisorDriver.name]  # a VM driver: no hypervisor probe
        agent = asyncio.create_task(
            run_agent(c.api.address, "host-1", drivers, stop, logs_listen=None, extended_resources={GPU: 2})
        )
        try:
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                nodes, _ = await c.client.list_all("Node")
                if nodes:
                    break
                assert asyncio.get_running_loop().time() < deadline, "the agent never registered"
                await asyncio.sleep(0.05)
            status = kinds.unwrap(nodes[0]).status
            assert (status.capacity[GPU], status.allocatable[GPU]) == ("2", "2")
        finally:
            stop.set()
            await asyncio.wait_for(agent, 10)
