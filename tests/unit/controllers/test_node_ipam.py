"""The node IPAM controller: one pod CIDR per node, rebuilt from the Node objects on start,
released on delete, exhaustion reported (Event + condition) and recovered from."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from atoll.client import ApiError
from atoll.clock import ManualClock
from atoll.v1 import node_pb2
from controller.controllers.node_ipam.allocator import NodeRangeAllocator
from controller.controllers.node_ipam.reconciler import NodeIpamController
from controller.runtime.reconciler_runner import drain
from tests.support.fake_api import FakeApi
from tests.unit.controllers.builders import node


@dataclass
class Harness:
    api: FakeApi
    clock: ManualClock
    controller: NodeIpamController

    async def cidr(self, name: str) -> str:
        return str((await self.api.get("Node", name, "")).node.spec.pod_cidr)

    async def condition(self, name: str) -> tuple[str, str]:
        found = [c for c in (await self.api.get("Node", name, "")).node.status.conditions
                 if c.type == "NetworkUnavailable"]
        return (found[0].status, found[0].reason) if found else ("", "")

    async def events(self, reason: str) -> list[Any]:
        items, _ = await self.api.list_all("Event")
        return [item.event for item in items if item.event.reason == reason]


async def start(api: FakeApi, clock: ManualClock, cluster: str = "10.244.0.0/16", mask: int = 24) -> Harness:
    allocator = NodeRangeAllocator(ipaddress.IPv4Network(cluster), mask)
    controller = NodeIpamController(api, api.informer(node_pb2.Node), allocator, clock)
    await api.sync_informers()
    await drain(controller)
    return Harness(api, clock, controller)


@pytest.fixture
async def api() -> AsyncIterator[FakeApi]:
    yield await FakeApi(ManualClock()).setup()


def clock_of(api: FakeApi) -> ManualClock:
    assert isinstance(api.clock, ManualClock)
    return api.clock


async def test_every_node_gets_its_own_range_inside_the_cluster_cidr(api: FakeApi) -> None:
    for name in ("n1", "n2", "n3"):
        await api.create(node(name))
    harness = await start(api, clock_of(api))
    cidrs = [await harness.cidr(name) for name in ("n1", "n2", "n3")]
    assert len(set(cidrs)) == 3
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr)
        assert network.prefixlen == 24 and network.subnet_of(ipaddress.IPv4Network("10.244.0.0/16"))
    await api.create(node("n4"))
    await drain(harness.controller)
    assert await harness.cidr("n4") not in cidrs


async def test_a_restarted_controller_keeps_every_range_and_never_hands_one_out_twice(api: FakeApi) -> None:
    await api.create(node("n1"))
    await api.create(node("n2"))
    first = await start(api, clock_of(api), cluster="10.8.0.0/22")  # 4 ranges
    before = {name: await first.cidr(name) for name in ("n1", "n2")}
    await first.controller.queue.shutdown()
    await api.create(node("n3"))
    second = await start(api, clock_of(api), cluster="10.8.0.0/22")
    assert {name: await second.cidr(name) for name in ("n1", "n2")} == before
    assert await second.cidr("n3") not in before.values()
    await second.controller.queue.shutdown()


async def test_exhaustion_is_an_event_and_a_condition_and_a_released_range_is_reused(api: FakeApi) -> None:
    for name in ("n1", "n2", "n3"):
        await api.create(node(name))
    harness = await start(api, clock_of(api), cluster="10.8.0.0/25", mask=26)  # 2 ranges for 3 nodes
    cidrs = {name: await harness.cidr(name) for name in ("n1", "n2", "n3")}
    (starved,) = [name for name, cidr in cidrs.items() if not cidr]
    assert await harness.condition(starved) == ("True", "CIDRNotAvailable")
    (event,) = await harness.events("CIDRNotAvailable")
    assert (event.type, event.involved_object.name) == ("Warning", starved)
    lucky = next(name for name, cidr in cidrs.items() if cidr)
    await api.delete("Node", lucky, "")
    await drain(harness.controller)
    assert await harness.cidr(starved) == cidrs[lucky]
    assert await harness.condition(starved) == ("False", "CIDRAssigned")
    await harness.controller.queue.shutdown()


async def test_a_failed_write_is_retried_with_the_same_range(api: FakeApi) -> None:
    await api.create(node("n1"))
    api.fail_next["update Node"] = ApiError(grpc.StatusCode.ABORTED, "conflict")
    harness = await start(api, clock_of(api), cluster="10.8.0.0/23")
    await clock_of(api).advance_and_settle(60)
    await drain(harness.controller)
    assert await harness.cidr("n1") == "10.8.0.0/24"
    assert len(harness.controller.allocator) == 1
    await harness.controller.queue.shutdown()


def test_the_allocator_releases_only_what_the_node_holds_and_rejects_foreign_ranges() -> None:
    allocator = NodeRangeAllocator(ipaddress.IPv4Network("10.8.0.0/23"), 24)
    assert allocator.occupy("10.8.1.0/24", "a")
    assert not allocator.occupy("10.8.1.0/24", "b")
    assert not allocator.occupy("10.9.0.0/24", "b")
    assert not allocator.occupy("10.8.0.0/25", "b")
    assert allocator.allocate("b") == "10.8.0.0/24"
    allocator.release("10.8.0.0/24", "a")
    assert allocator.owner("10.8.0.0/24") == "b"
    allocator.release("10.8.0.0/24", "b")
    assert allocator.owner("10.8.0.0/24") is None
