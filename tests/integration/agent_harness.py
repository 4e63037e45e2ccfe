"""Shared pieces of the agent integration tests: an in-process API server, nodes on a ManualClock,
workload factories and a poll-until helper (real time, bounded; the agent's own time is virtual)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from agent.config import AgentConfig
from agent.drivers.protocol import Driver
from agent.drivers.sim.script import SCRIPT_ANNOTATION
from agent.registration import NodeProfile
from agent.run import RunningNode, start_node
from atoll import kinds
from atoll.client import ApiError, Client
from atoll.clock import ManualClock
from atoll.v1 import object_pb2
from controller.store.memory import MemoryStore
from tests.support.cluster import Cluster, running_cluster
from tests.support.objects import make_pod, make_vm

FAST = AgentConfig(lease_interval=10.0, status_interval=3600.0)


@contextlib.asynccontextmanager
async def cluster() -> AsyncIterator[Cluster]:
    async with running_cluster(MemoryStore()) as running:
        yield running


@contextlib.asynccontextmanager
async def node(client: Client, profile: NodeProfile, drivers: Sequence[Driver], clock: ManualClock,
               config: AgentConfig = FAST) -> AsyncIterator[RunningNode]:
    running = await start_node(client, profile, drivers, clock=clock, config=config)
    try:
        yield running
    finally:
        await running.close()


def bound_pod(name: str, node_name: str, script: str | None = None, **spec: Any) -> object_pb2.Object:
    pod = make_pod(name)
    pod.pod.spec.node_name = node_name
    if script is not None:
        pod.pod.metadata.annotations[SCRIPT_ANNOTATION] = script
    for key, value in spec.items():
        setattr(pod.pod.spec, key, value)
    return pod


def bound_vm(name: str, node_name: str, script: str | None = None, **spec: Any) -> object_pb2.Object:
    vm = make_vm(name)
    vm.virtual_machine.spec.node_name = node_name
    if script is not None:
        vm.virtual_machine.metadata.annotations[SCRIPT_ANNOTATION] = script
    for key, value in spec.items():
        setattr(vm.virtual_machine.spec, key, value)
    return vm


async def eventually(client: Client, kind: str, name: str, check: Callable[[Any], bool],
                     timeout: float = 30.0, namespace: str = "default") -> Any:
    """Poll the object until ``check(message)`` holds; returns it. AssertionError with the last
    state seen on timeout. A missing object is passed to ``check`` as None. The default timeout
    is generous on purpose: a wait that holds returns at once, and a 2-core machine shared by
    other jobs can take many seconds for what takes milliseconds alone."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        try:
            last = kinds.unwrap(await client.get(kind, name, namespace))
        except ApiError:
            last = None
        if check(last):
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{kind}/{name} never satisfied the check; last seen:\n{last}")
        await asyncio.sleep(0.02)


async def event_reasons(client: Client, name: str, namespace: str = "default") -> list[str]:
    items, _ = await client.list_all("events", namespace, field_selector=f"involvedObject.name={name}")
    return [kinds.unwrap(item).reason for item in items]


async def settle(seconds: float = 0.05) -> None:
    """Give in-flight reconciles a moment of real time (used before asserting that nothing happens)."""
    await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def node_ipam(server: str, cluster_cidr: str = "10.244.0.0/16", mask: int = 24) -> AsyncIterator[None]:
    """The node IPAM controller alone, in-process, giving every Node a pod CIDR."""
    from controller.main import run_controllers
    from controller.manager import ControllerOptions

    stop = asyncio.Event()
    options = ControllerOptions(controllers=("node-ipam",), cluster_cidr=cluster_cidr, node_cidr_mask_size=mask)
    task = asyncio.create_task(run_controllers(server, stop, options=options), name="node-ipam")
    try:
        yield
    finally:
        stop.set()
        await task
