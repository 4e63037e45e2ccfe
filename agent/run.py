"""One node agent, assembled: drivers + NodeAgent + Lease heartbeats + its two watches.

``run_agent`` is what ``atoll-agent`` and ``atoll up --real`` call; ``start_node`` is the same
assembly on an existing client, for tests that drive time with a ManualClock.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.config import AgentConfig
from agent.drivers import build_driver
from agent.drivers.protocol import Driver
from agent.drivers.sim.base import SimSettings
from agent.events import EventRecorder
from agent.host.acceleration import host_hypervisor
from agent.host.devices import host_extended_resources
from agent.host.facts import host_facts
from agent.informer import start_watches
from agent.lease import LeaseKeeper
from agent.logs_service import LogsServer, start_logs_server
from agent.network.address_pool import PodAddressPool
from agent.network.node_network import NodeNetwork, NodeNetworkConfig
from agent.network.teardown import TeardownError, remove_node_network
from agent.node_agent import NodeAgent
from agent.registration import NodeProfile, format_cpu, format_memory
from agent.volumes.capacity import volume_capacity
from agent.volumes.reclaimer import VolumeReclaimer
from agent.workloads.context import NodeContext
from agent.workloads.status_batch import StatusBatcher
from atoll.client import Client
from atoll.clock import Clock, SystemClock
from atoll.config import ClientConfig
from atoll.node_restriction import endpoint_host
from atoll.tasks import cancel_and_wait

log = logging.getLogger(__name__)
# Pods' own volumes (emptyDir, ConfigMap, Secret) under an agent's state dir:
# POD_VOLUMES_DIR_NAME/<pod uid>/<volume name>; apart from STATE_DIR/volumes (persistent volumes).
POD_VOLUMES_DIR_NAME = "pod-volumes"


@dataclass
class RunningNode:
    agent: NodeAgent
    lease: LeaseKeeper
    events: EventRecorder
    statuses: StatusBatcher
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def close(self) -> None:
        """Stop watching, heartbeating and reconciling; workloads keep running in their drivers."""
        self.stop.set()
        await cancel_and_wait(self.tasks)
        await self.agent.close()
        await self.statuses.close()
        await self.events.close()


async def start_node(client: Client, profile: NodeProfile, drivers: Sequence[Driver], *,
                     clock: Clock | None = None, config: AgentConfig | None = None,
                     addresses: PodAddressPool | None = None, volumes_dir: Path | None = None) -> RunningNode:
    """Register ``profile`` with ``drivers``, adopt their tasks, then heartbeat and watch.
    ``addresses``: the pool the simulated ``drivers`` share, given the node's pod CIDR;
    ``volumes_dir``: where pods' volumes are written for drivers that mount them."""
    clock = clock or SystemClock()
    config = config or AgentConfig()
    events = EventRecorder(client, clock, enabled=config.events)
    statuses = StatusBatcher(client)
    ctx = NodeContext(client, profile.name, profile.os, profile.address, list(drivers), clock, config, events,
                      statuses, extended_resources=profile.extended_units(), addresses=addresses,
                      volumes_dir=volumes_dir)
    agent = NodeAgent(ctx, profile)
    await agent.start()
    lease = LeaseKeeper(client, clock, interval=config.lease_interval, duration=config.lease_duration, slots=1)
    lease.add(profile.name)
    await lease.renew_all()
    running = RunningNode(agent, lease, events, statuses)
    running.tasks = [
        *start_watches(client, profile.name, agent.dispatch, agent.synced),
        asyncio.create_task(lease.run(running.stop), name="lease"),
        asyncio.create_task(_refresh(agent, clock, config.status_interval, running.stop), name="refresh"),
    ]
    return running


async def _refresh(agent: NodeAgent, clock: Clock, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await clock.sleep(interval)
        try:
            await agent.refresh()
        except Exception as err:  # a failed refresh is retried next interval
            log.warning("node %s: status refresh failed: %s", agent.name, err)


def build_drivers(names: Sequence[str | Driver], clock: Clock, state_dir: Path | None,
                  addresses: PodAddressPool | None = None) -> list[Driver]:
    """Drivers by ``--driver`` name (UnknownDriverError for unknown names); each simulated one keeps
    its tasks in ``state_dir/NAME.json`` when ``state_dir`` is given, so restarts adopt them, and
    takes its workloads' addresses from ``addresses``."""
    drivers: list[Driver] = []
    for entry in names:
        if not isinstance(entry, str):
            drivers.append(entry)
            continue
        state_file = state_dir / f"{entry}.json" if state_dir else None
        drivers.append(build_driver(entry, SimSettings(state_file=state_file, addresses=addresses), clock))
    return drivers


async def host_profile(node_name: str | None, drivers: Sequence[Driver], endpoint: str = "",
                       extended_resources: Mapping[str, int] | None = None) -> NodeProfile:
    """This host as a node: its facts and a tested hypervisor; a node whose container drivers are
    all Windows ones (sim-windows) is a (simulated) Windows node. Extended resources: those its
    devices offer, overridden by ``extended_resources`` (agent/host/devices.py). The node's address
    is where its log ``endpoint`` listens (kubelet's ``--node-ip`` shape: the API server dials it
    there); a wildcard listen address publishes the host's primary address instead."""
    facts = host_facts()
    address = facts.address
    host = endpoint_host(endpoint)
    if host:
        if _wildcard(host):
            endpoint = f"{address}:{endpoint.rpartition(':')[2]}"
        else:
            address = host
    container_os = {d.capabilities().os for d in drivers if "container" in d.capabilities().kinds}
    node_os = "windows" if container_os == {"windows"} else facts.os
    found = None if any("vm" in d.capabilities().kinds for d in drivers) else await host_hypervisor()
    return NodeProfile(
        name=node_name or facts.hostname,
        os=node_os,
        os_build=facts.os_build if node_os == facts.os else "",
        arch=facts.arch,
        kernel=facts.kernel,
        cpu=format_cpu(facts.cpu_millis),
        memory=format_memory(facts.memory_bytes),
        # The root filesystem's size, as kubelet reports its node filesystem.
        ephemeral_storage=format_memory(shutil.disk_usage("/").total),
        address=address,
        hypervisor=found,
        endpoint=endpoint,
        extended_resources=host_extended_resources(extended_resources or {}),
    )


async def _remove_node_network(config: NodeNetworkConfig) -> None:
    """The node's table, routes and unused bridge removed; a failure is one warning (the next
    start replaces what is left)."""
    try:
        await remove_node_network(config.nft, config.ip, config.bridge)
    except TeardownError as err:
        log.warning("node network not fully removed: %s", err)


async def close_drivers(drivers: Sequence[Driver]) -> None:
    """Lets drivers with connections of their own (QMP sockets, exit watchers) drop them; the
    workloads keep running, to be adopted by the next agent."""
    for driver in drivers:
        close = getattr(driver, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def _wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


async def run_agent(server: str | ClientConfig, node_name: str | None, drivers: Sequence[str | Driver],
                    stop: asyncio.Event, *, state_dir: Path | None = None, config: AgentConfig | None = None,
                    logs_listen: str | None = "127.0.0.1:0", profile: NodeProfile | None = None,
                    extended_resources: Mapping[str, int] | None = None,
                    node_network: NodeNetworkConfig | None = None) -> None:
    """Run one node agent against the API server at ``server`` until ``stop`` is set.

    ``drivers``: names (``sim-linux``) or Driver objects. ``node_name``: default the hostname.
    ``logs_listen``: where to serve ``atoll logs`` for this node (None: no log service).
    ``extended_resources``: units per name the operator declares (``--extended-resource``),
    replacing what device discovery finds for those names.
    ``node_network``: program this host's kernel (routes to other nodes' pod CIDRs, the Service
    table in nftables; agent/network/node_network.py); only for real nodes.
    Raises UnknownDriverError for an unknown driver name, before connecting.
    """
    clock = SystemClock()
    addresses = PodAddressPool(node_name or "")
    built = build_drivers(drivers, clock, state_dir, addresses)
    async with Client.connect(server) as client:
        logs: LogsServer | None = None
        if logs_listen is not None:
            logs = await start_logs_server(logs_listen, server if isinstance(server, ClientConfig) else None)
        endpoint = logs.address if logs else ""
        if config is not None and config.volume_dirs is not None:
            extended_resources = {**(extended_resources or {}), **volume_capacity(config.volume_dirs)}
        node_profile = profile or await host_profile(node_name, built, endpoint, extended_resources)
        addresses.node_name = node_profile.name
        volumes_dir = state_dir / POD_VOLUMES_DIR_NAME if state_dir else None
        running = await start_node(client, node_profile, built, clock=clock, config=config, addresses=addresses,
                                   volumes_dir=volumes_dir)
        if node_network is not None:
            running.tasks += NodeNetwork(client, node_profile.name, clock, node_network).start()
        dirs = config.volume_dirs if config is not None else None
        name = node_profile.name
        running.tasks.append(asyncio.create_task(VolumeReclaimer(client, lambda node: node == name, dirs).run(),
                                                 name="volume-reclaimer"))
        if logs is not None:
            logs.serve(running.agent)
        try:
            await stop.wait()
        finally:
            await running.close()
            if node_network is not None and node_network.remove_on_stop:  # first: it is quick
                await _remove_node_network(node_network)
            if logs is not None:
                await logs.stop()
            await close_drivers(built)
