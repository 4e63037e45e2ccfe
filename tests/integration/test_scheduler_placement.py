"""The scheduler against a real in-process API server: placements, explanations, preemption."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import pytest

from atoll import finalizers, kinds
from atoll.client import Client
from controller.store.memory import MemoryStore
from scheduler.main import run_scheduler
from tests.support.cluster import Cluster, running_cluster
from tests.unit.scheduler.builders import make_node, make_pod, make_vm

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[Cluster, asyncio.Event]]:
    async with running_cluster(MemoryStore()) as running:
        stop = asyncio.Event()
        task = asyncio.create_task(run_scheduler(running.api.address, stop=stop))
        try:
            yield running, stop
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def agent_lets_go(client: Client, kind: str, name: str) -> None:
    """What the node's agent does once a deleted workload stopped: removes the finalizer Bind added."""

    async def deleting() -> Any:
        obj = kinds.unwrap(await client.get(kind, name))
        return obj if obj.metadata.HasField("deletion_timestamp") else None

    victim = await eventually(deleting)
    victim.metadata.finalizers.remove(finalizers.NODE_AGENT)
    await client.update(victim)


async def node_of(client: Client, kind: str, name: str) -> str:
    return str(kinds.unwrap(await client.get(kind, name)).spec.node_name)


async def test_mixed_fleet_placements_and_explanations(cluster: tuple[Cluster, asyncio.Event]) -> None:
    client = cluster[0].client
    for node in (
        make_node("linux-1"),
        make_node("win-2019").windows("10.0.17763").isolation("process", "hyperv"),
        make_node("win-2022").windows("10.0.20348").isolation("process", "hyperv", "hostprocess"),
        make_node("kvm").hypervisor("type1", ("linux", "windows"), overhead="256Mi"),
    ):
        await client.create(node.build())
    workloads = {
        ("Pod", "web"): (make_pod("web").build(), {"linux-1", "kvm"}),
        ("Pod", "iis"): (
            make_pod("iis").windows("process", image="mcr.microsoft.com/windows/servercore:ltsc2019").build(),
            {"win-2019"},
        ),
        ("Pod", "legacy"): (make_pod("legacy").windows("hyperv", "10.0.17763").build(), {"win-2019", "win-2022"}),
        ("Pod", "agent"): (make_pod("agent").windows("hostprocess").build(), {"win-2022"}),
        ("VirtualMachine", "db"): (make_vm("db").guest("windows", "10.0.20348").build(), {"kvm"}),
    }
    for obj, _ in workloads.values():
        await client.create(obj)
    await client.create(make_pod("huge").requests(memory="1Ti").build())
    for (kind, name), (_, allowed) in workloads.items():
        node = await eventually(partial(node_of, client, kind, name))
        assert node in allowed, f"{kind} {name} landed on {node}"

    async def explained() -> Any:
        pod = kinds.unwrap(await client.get("Pod", "huge"))
        return pod.status.conditions[0] if pod.status.conditions else None

    condition = await eventually(explained)
    assert (condition.type, condition.status, condition.reason) == ("PodScheduled", "False", "Unschedulable")
    assert condition.message == ("0/4 nodes are available: 2 insufficient memory, 2 os mismatch.")

    async def events() -> Any:
        items, _ = await client.list_all("Event", "default")
        reasons = {(e.event.reason, e.event.involved_object.name) for e in items}
        return reasons if {("FailedScheduling", "huge"), ("Scheduled", "web")} <= reasons else None

    await eventually(events)


async def test_preemption_through_the_api(cluster: tuple[Cluster, asyncio.Event]) -> None:
    client = cluster[0].client
    await client.create(make_node("only").cpu("1").build())
    await client.create(make_pod("low").requests(cpu="1").priority(1).build())
    await eventually(partial(node_of, client, "Pod", "low"))
    await client.create(make_pod("vip").requests(cpu="1").priority(100).build())
    await agent_lets_go(client, "Pod", "low")
    assert await eventually(partial(node_of, client, "Pod", "vip")) == "only"
    items, _ = await client.list_all("Pod", "default")
    assert [kinds.unwrap(i).metadata.name for i in items] == ["vip"]
