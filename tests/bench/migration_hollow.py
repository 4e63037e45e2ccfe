"""The hollow half of tests/bench/migration.py: VM drain throughput on a simulated fleet under the
migration controller's default limits (5 migrations in the cluster, 2 leaving one node)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from agent.drivers.sim.hypervisor import HypervisorProfile
from agent.hollow.fleet import FleetSpec, NodeGroup
from agent.hollow.hollow_fleet import run_hollow_fleet
from atoll import migrations
from atoll.client import Client
from atoll.v1 import migration_pb2
from controller.controllers.migration.policy import MigrationPolicy
from controller.main import run_controllers
from controller.manager import ControllerOptions
from controller.store.memory import MemoryStore
from scheduler.main import run_scheduler
from tests.support.cluster import running_cluster
from tests.support.objects import make_vm

POLL = 0.2


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"hollow drain: {what} not reached within {timeout:g}s")
        await asyncio.sleep(POLL)


async def _all(client: Client, kind: str, predicate: Any, count: int) -> bool:
    """Whether ``count`` objects of ``kind`` satisfy ``predicate``."""
    items, _ = await client.list_all(kind)
    return sum(1 for item in items if predicate(item)) == count


async def bench_hollow_drain(nodes: int, drained: int, vms: int) -> dict[str, Any]:
    """Place ``vms`` VMs on ``drained`` nodes of a ``nodes``-node fleet, cordon those, migrate
    every VM once; migrations per minute and the most seen at once."""
    spec = FleetSpec((NodeGroup(nodes, "hv-", cpu="256", memory="2Ti", pods="500",
                                hypervisor=HypervisorProfile(boot_seconds=0.1)),))
    names = list(spec.groups[0].names())
    policy = MigrationPolicy()
    async with running_cluster(MemoryStore()) as cluster:
        client, stop = cluster.client, asyncio.Event()
        options = ControllerOptions(controllers=("virtualmachine", "node-ipam", "migration"), migration_policy=policy)
        tasks = [
            asyncio.create_task(run_controllers(cluster.api.address, stop, options=options)),
            asyncio.create_task(run_scheduler(cluster.api.address, None, stop)),
            asyncio.create_task(run_hollow_fleet(cluster.api.address, spec, stop)),
        ]
        try:
            await _until(lambda: _all(client, "Node", lambda n: n.node.spec.pod_cidr, nodes),
                         120, "every node registered with a pod CIDR")
            for index in range(vms):
                vm = make_vm(f"vm-{index}")
                vm.virtual_machine.spec.memory = "1Gi"
                vm.virtual_machine.spec.node_name = names[index % drained]
                await client.create(vm)
            await _until(lambda: _all(client, "VirtualMachine", lambda v: v.virtual_machine.status.phase == "Running",
                                      vms), 300, "every VM Running")
            for name in names[:drained]:
                node = (await client.get("Node", name)).node
                node.spec.unschedulable = True
                await client.update(node)
            began = time.perf_counter()
            for index in range(vms):
                migration = migration_pb2.VirtualMachineMigration()
                migration.metadata.name, migration.metadata.namespace = f"drain-{index}", "default"
                migration.spec.vm_name = f"vm-{index}"
                await client.create(migration)
            most = 0
            while True:
                items, _ = await client.list_all("VirtualMachineMigration")
                phases = [item.virtual_machine_migration.status.phase for item in items]
                in_flight = sum(1 for phase in phases if phase not in migrations.ENDED_PHASES
                                and phase != migrations.PENDING)
                most = max(most, in_flight)
                if all(phase in migrations.ENDED_PHASES for phase in phases):
                    break
                if any(task.done() for task in tasks):
                    raise SystemExit("hollow drain: a component stopped")
                await asyncio.sleep(POLL)
            seconds = time.perf_counter() - began
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 30)
    return {
        "nodes": nodes, "drained_nodes": drained, "vms": vms,
        "succeeded": phases.count(migrations.SUCCEEDED), "failed": phases.count(migrations.FAILED),
        "seconds": round(seconds, 2), "migrations_per_min": round(60 * vms / seconds, 1),
        "max_in_flight": most, "limit": policy.parallel_per_cluster,
        "outbound_limit": policy.parallel_outbound_per_node,
    }

