"""Runs a FleetSpec: one NodeAgent per simulated node, all fed by shared watches.

Sharing is the point: N nodes cost one gRPC channel, one Pod watch and one VirtualMachine watch
(``spec.nodeName!=``, dispatched here by node name), one Node watch (each node learns its pod
CIDR from it), one LeaseKeeper renewing every node once per interval in evenly spread slots, one
EventRecorder, one StatusBatcher (every node's workload statuses in shared BatchUpdateStatus
calls) and one log server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from agent.config import AgentConfig
from agent.drivers.protocol import Driver
from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.hypervisor import SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.drivers.sim.windows import SimWindowsDriver, WindowsHost
from agent.events import EventRecorder
from agent.hollow.fleet import FleetSpec, NodeGroup, load_fleet
from agent.informer import nodes_of, start_watches
from agent.lease import LeaseKeeper
from agent.logs_service import LogsServer, start_logs_server
from agent.network.address_pool import PodAddressPool
from agent.node_agent import NodeAgent
from agent.registration import NodeProfile, units_offered
from agent.volumes.reclaimer import VolumeReclaimer
from agent.workloads.context import NodeContext
from agent.workloads.status_batch import StatusBatcher
from atoll import storage
from atoll.client import Client
from atoll.clock import Clock, SystemClock
from atoll.config import ClientConfig
from atoll.node_restriction import endpoint_host
from atoll.quantity import to_bytes
from atoll.tasks import cancel_and_wait
from atoll.v1 import api_pb2

log = logging.getLogger(__name__)
REGISTER_CONCURRENCY = 64
LEASE_SLOT_SECONDS = 0.1


def _address(index: int) -> str:
    return f"10.{64 + index // 65536 % 64}.{index // 256 % 256}.{index % 256}"


def group_drivers(group: NodeGroup, index: int, clock: Clock, addresses: PodAddressPool | None = None) -> list[Driver]:
    """The simulated runtimes of one node of ``group``, sharing the node's address pool."""
    settings = SimSettings(start_latency=group.start_latency, failure_rate=group.failure_rate, seed=index,
                           host_ip=_address(index), addresses=addresses, fail_probes=group.fail_probes,
                           image_pull_seconds=group.image_pull_seconds, missing_images=group.missing_images)
    drivers: list[Driver] = []
    if group.os == "windows":
        drivers.append(SimWindowsDriver(WindowsHost(os_build=group.os_build, isolation=group.isolation),
                                        settings, clock))
    else:
        drivers.append(SimLinuxDriver(settings, clock))
    if group.hypervisor is not None:
        drivers.append(SimHypervisorDriver(group.hypervisor, settings, clock))
    return drivers


def group_profile(group: NodeGroup, name: str, index: int, endpoint: str) -> NodeProfile:
    """A simulated node's profile. With a log ``endpoint``, the node's address is the endpoint's host (every
    node of a fleet is reachable where the fleet process serves, as kwok's nodes share kwok's address): a
    node's endpoint must lie within its own addresses. Without one, its simulated host address."""
    return NodeProfile(
        name=name, os=group.os, os_build=group.os_build, arch=group.arch, kernel="hollow",
        cpu=group.cpu, memory=group.memory, pods=group.pods, ephemeral_storage=group.ephemeral_storage,
        labels={**group.labels, "atoll.dev/hollow": "true"},
        taints=group.taints, reserved=group.reserved, address=endpoint_host(endpoint) or _address(index),
        endpoint=endpoint,
        extended_resources=group_resources(group),
    )


def group_resources(group: NodeGroup) -> dict[str, str]:
    """The group's extended resources and its room for local volumes (in all, and per class), in
    whole units (bytes)."""
    resources = dict(group.extended_resources)
    room = to_bytes(group.local_storage) if group.local_storage else 0
    if room:
        resources[storage.LOCAL_CAPACITY_RESOURCE] = str(room)
    for class_name, size in group.class_storage.items():
        resources[storage.class_capacity_resource(class_name)] = str(to_bytes(size))
    return resources


@dataclass
class HollowFleet:
    client: Client
    spec: FleetSpec
    clock: Clock = field(default_factory=SystemClock)
    config: AgentConfig = field(default_factory=AgentConfig)
    logs: LogsServer | None = None
    agents: dict[str, NodeAgent] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    unknown_node_events: int = 0

    def __post_init__(self) -> None:
        self.events = EventRecorder(self.client, self.clock, enabled=self.config.events)
        self.statuses = StatusBatcher(self.client)
        slots = max(1, round(self.config.lease_interval / LEASE_SLOT_SECONDS))
        self.lease = LeaseKeeper(self.client, self.clock, interval=self.config.lease_interval,
                                 duration=self.config.lease_duration, slots=slots)

    async def start(self) -> None:
        """Register every node (at most REGISTER_CONCURRENCY at once), then heartbeat and watch."""
        endpoint = self.logs.address if self.logs else ""
        index = 0
        for group in self.spec.groups:
            units = units_offered(group_resources(group))  # one dict shared by the group's nodes
            for name in group.names():
                addresses = PodAddressPool(name)
                ctx = NodeContext(self.client, name, group.os, _address(index),
                                  group_drivers(group, index, self.clock, addresses), self.clock, self.config,
                                  self.events, self.statuses, extended_resources=units, addresses=addresses)
                self.agents[name] = NodeAgent(ctx, group_profile(group, name, index, endpoint))
                index += 1
        limit = asyncio.Semaphore(REGISTER_CONCURRENCY)

        async def register(agent: NodeAgent) -> None:
            async with limit:
                await agent.start()
                self.lease.add(agent.name)
                await self.lease.renew(agent.name)
                if self.logs is not None:
                    self.logs.serve(agent)

        await asyncio.gather(*(register(agent) for agent in self.agents.values()))
        self.tasks = [
            *start_watches(self.client, None, self._dispatch, self._synced),
            asyncio.create_task(self.lease.run(self.stop), name="hollow-leases"),
            asyncio.create_task(VolumeReclaimer(self.client, self.agents.__contains__, None).run(),
                                name="hollow-volume-reclaimer"),
        ]
        log.info("hollow fleet: %d nodes registered", len(self.agents))

    def _dispatch(self, kind: str, event: api_pb2.WatchEvent) -> None:
        for node in nodes_of(event):
            agent = self.agents.get(node)
            if agent is None:
                self.unknown_node_events += 1  # bound to a node this process does not simulate
                continue
            agent.dispatch(kind, event)

    def _synced(self, kind: str) -> None:
        for agent in self.agents.values():
            agent.synced(kind)

    async def close(self) -> None:
        self.stop.set()
        await cancel_and_wait(self.tasks)
        await asyncio.gather(*(agent.close() for agent in self.agents.values()))
        await self.statuses.close()
        await self.events.close()


async def run_hollow_fleet(server: str | ClientConfig, fleet: FleetSpec | str | Path, stop: asyncio.Event, *,
                           config: AgentConfig | None = None, logs_listen: str | None = "127.0.0.1:0") -> None:
    """Run every node of ``fleet`` (a FleetSpec or a fleet file path) against the API server at
    ``server`` until ``stop`` is set. Raises FleetError for a bad fleet file before connecting."""
    spec = fleet if isinstance(fleet, FleetSpec) else load_fleet(fleet)
    async with Client.connect(server) as client:
        tls = server if isinstance(server, ClientConfig) else None
        logs = await start_logs_server(logs_listen, tls) if logs_listen is not None else None
        hollow = HollowFleet(client, spec, config=config or AgentConfig(), logs=logs)
        try:
            await hollow.start()
            await stop.wait()
        finally:
            await hollow.close()
            if logs is not None:
                await logs.stop()
