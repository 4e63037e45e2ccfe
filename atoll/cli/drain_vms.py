"""How ``atoll node drain`` moves the VirtualMachines off a node (atoll/cli/node.py runs it).

By each VM's ``spec.evictionStrategy`` (atoll/migrations.py):

- LiveMigrate: a VirtualMachineMigration (label ``drain.atoll.dev/node``); the guest moves without
  a reboot. If the migration fails the VM stays, running, on the node, and the drain fails
  naming it (retry, or stop the VM).
- LiveMigrateIfPossible: the same, but a failed migration falls back to stopping the VM there
  and starting it elsewhere.
- None (the default): stopped there and started elsewhere, the same object (atoll/vm_runs.py).
A VM that is not Running (nothing to migrate) is evicted in place whatever its strategy.
A VM already migrating when the drain starts (``atoll vm migrate``) is leaving the node: the drain
waits for that migration as for its own, with the same fallback by strategy, instead of asking a
VM mid-copy to stop (a LiveMigrate VM would have been restarted; a drain of a node with a large VM
migrating off it said "stopped here" and then waited for the migration anyway).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import grpc

from atoll import kinds, migrations
from atoll.cli.common import Streams
from atoll.cli.scale import modify
from atoll.client import ApiError, Client
from atoll.v1 import migration_pb2
from atoll.vm_runs import request_eviction

DRAIN_LABEL = "drain.atoll.dev/node"
MIGRATION = kinds.by_name("VirtualMachineMigration")


@dataclass
class Moving:
    """A VM a drain live-migrates: its migration, and whether a failure falls back to a restart."""

    vm: Any
    migration: str
    fallback: bool


def live_migrates(kind: str, workload: Any) -> bool:
    """Whether the drain live-migrates ``workload``: one evicted in place (a VM), Running, whose
    strategy asks for it."""
    if not kinds.by_name(kind).evicted_in_place:
        return False
    vm = workload
    strategy = vm.spec.eviction_strategy
    return strategy in (migrations.LIVE_MIGRATE, migrations.LIVE_MIGRATE_IF_POSSIBLE) and vm.status.phase == "Running"


async def migration_under_way(client: Client, kind: str, workload: Any) -> str | None:
    """The name of an active migration of ``workload`` when it is a VM that has one (it moves the
    VM off the node it is bound to), else None."""
    if not kinds.by_name(kind).evicted_in_place:
        return None
    vm = workload
    selector = f"spec.vmName={vm.metadata.name}"
    found, _ = await client.list_all(MIGRATION.name, vm.metadata.namespace, field_selector=selector)
    active = sorted(m.virtual_machine_migration.metadata.name for m in found
                    if migrations.is_active(m.virtual_machine_migration))
    return active[0] if active else None


async def start_migration(client: Client, vm: Any, node: str) -> str | None:
    """Create the drain's migration of ``vm``; its name, or None when the API refused it (then
    the VM is evicted in place)."""
    migration = migration_pb2.VirtualMachineMigration()
    migration.metadata.name = f"{vm.metadata.name[:230]}-drain-{secrets.token_hex(3)[:5]}"
    migration.metadata.namespace = vm.metadata.namespace
    migration.metadata.labels[DRAIN_LABEL] = node
    migration.spec.vm_name = vm.metadata.name
    try:
        await client.create(migration)
    except ApiError as err:
        if err.code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT):
            return None
        raise
    return migration.metadata.name


async def evict_in_place(client: Client, kind: str, namespace: str, name: str, node_name: str) -> None:
    """Ask workload ``name`` to leave ``node_name`` (no change when it left already or was asked)."""

    def ask(workload: Any) -> None:
        if workload.spec.node_name == node_name:
            request_eviction(workload)

    await modify(client, kinds.by_name(kind), namespace, name, ask)


async def settle(client: Client, moving: dict[str, Moving], node: str, streams: Streams) -> list[tuple[str, str]]:
    """Look at each migration in ``moving`` (by VM uid) once: drop those that ended; a failed one
    falls back to a restart elsewhere, or is returned as (VM uid, failure line): the drain stops
    waiting for that VM."""
    failures = []
    for uid, entry in list(moving.items()):
        try:
            migration = (await client.get(MIGRATION.name, entry.migration, entry.vm.metadata.namespace))
        except ApiError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise
            del moving[uid]
            continue
        status = migration.virtual_machine_migration.status
        if migrations.is_active(migration.virtual_machine_migration):
            continue
        del moving[uid]
        label = f"virtualmachine/{entry.vm.metadata.name}"
        if status.phase == migrations.SUCCEEDED:
            streams.out.write(f"{label} live-migrated to {status.target_node} "
                              f"(downtime {status.progress.downtime_ms} ms)\n")
        elif entry.fallback:
            streams.out.write(f"{label}: migration {status.phase.lower()} ({status.reason}: {status.message}); "
                              f"stopping it here to start it elsewhere\n")
            await evict_in_place(client, "VirtualMachine", entry.vm.metadata.namespace, entry.vm.metadata.name, node)
        else:
            failures.append((uid, f"{label} (evictionStrategy LiveMigrate): migration {status.phase.lower()}: "
                                  f"{status.reason}: {status.message}"))
    streams.out.flush()
    return failures
