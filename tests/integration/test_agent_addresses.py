"""Addresses on simulated nodes: every pod and VM takes its address from its node's pod CIDR (given
by the node IPAM controller), waits with NetworkNotReady before the node has one, keeps it across
an agent restart, and every address atoll reports parses as an IP address. A real node's driver
(PodCidrAware) is handed the node's pod CIDR by the agent."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from agent.config import AgentConfig
from agent.drivers.fake import FakeDriver
from agent.drivers.protocol import Capabilities, NetworkNotReadyError, TaskConfig, TaskHandle, TaskStatus
from agent.hollow.fleet import default_fleet
from agent.hollow.hollow_fleet import HollowFleet
from agent.registration import NodeProfile
from atoll import kinds
from atoll.cidrs import host_addresses
from atoll.client import Client
from atoll.clock import ManualClock
from tests.integration.agent_harness import bound_pod, bound_vm, cluster, eventually, node, node_ipam

FAST = AgentConfig(lease_interval=0.5)


async def reported_addresses(client: Client) -> list[tuple[str, str, str]]:
    """(what, address, the pod CIDR of its node) for every address in every Pod and VM status."""
    nodes = {kinds.unwrap(n).metadata.name: kinds.unwrap(n) for n in (await client.list_all("nodes"))[0]}
    found: list[tuple[str, str, str]] = []
    for kind in ("pods", "vms"):
        for item in (await client.list_all(kind))[0]:
            obj: Any = kinds.unwrap(item)
            cidr = nodes[obj.spec.node_name].spec.pod_cidr
            what = f"{kind}/{obj.metadata.name}"
            addresses = [obj.status.pod_ip, *obj.status.pod_ips] if kind == "pods" else [obj.status.ip, *obj.status.ips]
            found.extend((what, address, cidr) for address in addresses)
    return found


def check_in_cidr(found: list[tuple[str, str, str]]) -> None:
    for what, address, cidr in found:
        assert ipaddress.ip_address(address) in ipaddress.ip_network(cidr), f"{what}: {address} not in {cidr}"


async def test_every_address_on_a_hollow_fleet_parses_and_lies_in_its_nodes_pod_cidr() -> None:
    async with cluster() as c, node_ipam(c.api.address):
        fleet = HollowFleet(c.client, default_fleet(10), config=FAST)
        await fleet.start()
        try:
            names = sorted(fleet.agents)
            linux = [name for name in names if name.startswith("sim-lnx")]
            for index in range(12):
                await c.client.create(bound_pod(f"p{index}", linux[index % len(linux)]))
            await c.client.create(bound_vm("v", "sim-kvm-0000"))
            for index in range(12):
                await eventually(c.client, "pod", f"p{index}", lambda p: p is not None and bool(p.status.pod_ip))
            await eventually(c.client, "vm", "v", lambda v: v is not None and bool(v.status.ip), timeout=10)
            found = await reported_addresses(c.client)
            assert len(found) == 2 * 13
            check_in_cidr(found)
            pod_ips = [address for what, address, _ in found if what.startswith("pods/")]
            assert len(set(pod_ips)) == 12, "unique while in use"
            nodes = [kinds.unwrap(n) for n in (await c.client.list_all("nodes"))[0]]
            for node in nodes:
                assert ipaddress.ip_network(node.spec.pod_cidr).subnet_of(ipaddress.IPv4Network("10.244.0.0/16"))
        finally:
            await fleet.close()


async def test_a_pod_waits_for_its_nodes_pod_cidr_then_runs_with_an_address_from_it() -> None:
    async with cluster() as c:
        fleet = HollowFleet(c.client, default_fleet(2), config=FAST)
        await fleet.start()
        try:
            name = sorted(fleet.agents)[0]
            await c.client.create(bound_pod("early", name))
            waiting = await eventually(c.client, "pod", "early", lambda p: p is not None and any(
                s.state.waiting.reason == "NetworkNotReady" for s in p.status.container_statuses))
            assert waiting.status.pod_ip == "" and waiting.status.container_statuses[0].restart_count == 0
            async with node_ipam(c.api.address, "10.50.0.0/16", 26):
                pod = await eventually(c.client, "pod", "early", lambda p: p is not None
                                       and p.status.phase == "Running" and bool(p.status.pod_ip))
                node = kinds.unwrap(await c.client.get("node", name, ""))
                assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(node.spec.pod_cidr)
                assert ipaddress.ip_network(node.spec.pod_cidr).prefixlen == 26
        finally:
            await fleet.close()


class NetworkedFakeDriver(FakeDriver):
    """A real node's driver as the agent sees it (PodCidrAware): NetworkNotReady until the agent
    hands it the node's pod CIDR, then each VM gets the first workload address of that range."""

    def __init__(self) -> None:
        super().__init__("qemu", Capabilities(kinds=frozenset({"vm"}), guest_os=frozenset({"linux"})))
        self.cidrs: list[str] = []

    def set_pod_cidr(self, cidr: str) -> bool:
        if not cidr or self.cidrs[-1:] == [cidr]:
            return False
        self.cidrs.append(cidr)
        return True

    async def start(self, config: TaskConfig) -> TaskHandle:
        if not self.cidrs:
            raise NetworkNotReadyError("no pod CIDR yet")
        return await super().start(config)

    async def inspect(self, task_id: str) -> TaskStatus:
        status = await super().inspect(task_id)
        return replace(status, ip=str(host_addresses(self.cidrs[-1])[0]))


async def test_a_real_nodes_vm_waits_for_the_pod_cidr_its_driver_is_given_then_reports_the_drivers_address() -> None:
    driver = NetworkedFakeDriver()
    async with cluster() as c, node(c.client, NodeProfile(name="real-1"), [driver], ManualClock(1000.0)):
        await c.client.create(bound_vm("v", "real-1"))
        waiting = await eventually(c.client, "vm", "v",
                                   lambda v: v is not None and v.status.reason == "NetworkNotReady")
        assert waiting.status.ip == "" and waiting.status.restart_count == 0
        async with node_ipam(c.api.address, "10.60.0.0/16", 24):
            running = await eventually(c.client, "vm", "v", lambda v: v is not None and v.status.phase == "Running")
        cidr = kinds.unwrap(await c.client.get("node", "real-1", "")).spec.pod_cidr
        assert driver.cidrs == [cidr]
        assert running.status.ip == str(host_addresses(cidr)[0]) and list(running.status.ips) == [running.status.ip]
