"""``atoll node cordon|uncordon NAME...`` and ``atoll node drain NAME``.

Cordon sets ``spec.unschedulable`` (the scheduler places nothing new there); uncordon clears it.
Drain cordons, then evicts every workload bound to the node and waits until none is left there:

- a Pod is deleted (its Deployment makes a replacement elsewhere; the agent stops it within its
  grace period first). Like ``kubectl drain``, a Pod no controller owns would be lost for good, so
  drain refuses while there are any, unless ``--force``;
- a VirtualMachine is never deleted: by its ``spec.evictionStrategy`` it is live-migrated to another
  node without a reboot, or asked to leave the node (atoll/vm_runs.py), stopped there and placed
  again elsewhere by the scheduler, the same object with the same UID (drain_vms.py). A VM that must
  live-migrate and cannot makes the drain fail, naming it; the others still leave. A VM already
  migrating off the node is waited for, not stopped.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import Any

import grpc

from atoll import kinds
from atoll.cli.common import EXIT_FAILED, EXIT_OK, CliError, Streams, add_server_flag, run_with_client
from atoll.cli.drain_vms import Moving, evict_in_place, live_migrates, migration_under_way, settle, start_migration
from atoll.cli.duration import parse_duration
from atoll.cli.parser import examples
from atoll.cli.targets import name_of
from atoll.client import ApiError, Client
from atoll.migrations import LIVE_MIGRATE, LIVE_MIGRATE_IF_POSSIBLE

ACTIONS = ("cordon", "uncordon", "drain")
# What runs on a node and must leave it when it is drained.
WORKLOADS = tuple(kind.name for kind in kinds.KINDS if kind.node_bound)
_POLL_SECONDS = 0.5


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "node", help="cordon, uncordon or drain nodes", description="Take nodes out of (or back into) service.",
        **examples(
            "atoll node cordon n1",
            "atoll node drain n1 n2 --timeout 300",
            "atoll node uncordon n1",
        ),
    )
    parser.add_argument("action", choices=ACTIONS, help="cordon: no new workloads; drain: cordon and evict")
    parser.add_argument("names", metavar="NAME", nargs="+", help="node names")
    parser.add_argument("--force", action="store_true", help="drain: also delete Pods no controller owns")
    parser.add_argument("--timeout", type=parse_duration, default=0.0, metavar="DURATION",
                        help="drain: give up waiting after DURATION (30s, 2m; 0: never)")
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: execute(client, args, streams))


async def execute(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    status = EXIT_OK
    names = [name_of(name, kinds.by_name("Node")) for name in args.names]  # NAME or node/NAME
    for name in names:
        if args.action == "drain":
            status = max(status, await drain(client, name, args.force, args.timeout, streams))
        else:
            changed = await set_unschedulable(client, name, args.action == "cordon")
            word = "cordoned" if args.action == "cordon" else "uncordoned"
            streams.out.write(f"node/{name} {word if changed else 'already ' + word}\n")
    return status


async def set_unschedulable(client: Client, name: str, value: bool) -> bool:
    """Set spec.unschedulable; True when it changed. Retries when the Node changed meanwhile."""
    for _ in range(10):
        node = (await client.get("Node", name)).node
        if node.spec.unschedulable == value:
            return False
        node.spec.unschedulable = value
        try:
            await client.update(node)
            return True
        except ApiError as err:
            if err.code != grpc.StatusCode.ABORTED:
                raise
    raise CliError(f"node/{name} kept changing while being updated; try again")


async def bound_workloads(client: Client, node_name: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for kind in WORKLOADS:
        items, _ = await client.list_all(kind, field_selector=f"spec.nodeName={node_name}")
        found.extend((kind, kinds.unwrap(item)) for item in items)
    return found


def unmanaged(workloads: Sequence[tuple[str, Any]]) -> list[str]:
    """What a drain would lose for good: workloads it deletes (not those evicted in place, VMs)
    that no controller owns."""
    return [f"{kinds.by_name(kind).singular}/{w.metadata.namespace}/{w.metadata.name}"
            for kind, w in workloads
            if not kinds.by_name(kind).evicted_in_place
            and not any(ref.controller for ref in w.metadata.owner_references)]


async def drain(client: Client, name: str, force: bool, timeout: float, streams: Streams) -> int:
    if await set_unschedulable(client, name, True):
        streams.out.write(f"node/{name} cordoned\n")
    workloads = await bound_workloads(client, name)
    lost = unmanaged(workloads)
    if lost and not force:
        shown = ", ".join(lost[:5]) + (f" and {len(lost) - 5} more" if len(lost) > 5 else "")
        streams.error(f"error: cannot drain node/{name}: {shown} not managed by a controller "
                      f"(would be lost; use --force to delete them anyway)")
        return EXIT_FAILED
    moving: dict[str, Moving] = {}
    for kind, workload in workloads:
        label = f"{kinds.by_name(kind).singular}/{workload.metadata.name}"
        try:
            if under_way := await migration_under_way(client, kind, workload):
                fallback = workload.spec.eviction_strategy != LIVE_MIGRATE
                moving[workload.metadata.uid] = Moving(workload, under_way, fallback)
                streams.out.write(f"migrating {label} (virtualmachinemigration/{under_way}, already under way)\n")
                continue
            migration = await start_migration(client, workload, name) if live_migrates(kind, workload) else None
            if migration is not None:
                fallback = workload.spec.eviction_strategy == LIVE_MIGRATE_IF_POSSIBLE
                moving[workload.metadata.uid] = Moving(workload, migration, fallback)
                streams.out.write(f"migrating {label} (virtualmachinemigration/{migration})\n")
            elif kinds.by_name(kind).evicted_in_place:
                await evict_in_place(client, kind, workload.metadata.namespace, workload.metadata.name, name)
                streams.out.write(f"evicting {label} (stopped here, started again elsewhere)\n")
            else:
                await client.delete(kind, workload.metadata.name, workload.metadata.namespace)
                streams.out.write(f"evicting {label}\n")
        except ApiError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise
    streams.out.flush()
    evicted = {w.metadata.uid for _, w in workloads}
    failures: list[str] = []
    try:
        async with asyncio.timeout(timeout if timeout > 0 else None):
            await _until_empty(client, name, evicted, moving, failures, streams)
    except TimeoutError:
        streams.error(f"error: timed out after {timeout:g}s waiting for node/{name} to drain")
        return EXIT_FAILED
    if failures:
        for line in failures:
            streams.error(f"error: {line}")
        streams.error(f"error: node/{name} not drained: {len(failures)} VM(s) could not live-migrate "
                      "and still run there")
        return EXIT_FAILED
    streams.out.write(f"node/{name} drained\n")
    return EXIT_OK


async def _until_empty(client: Client, name: str, evicted: set[str], moving: dict[str, Moving],
                       failures: list[str], streams: Streams) -> None:
    """Until every evicted workload left the node, except the VMs whose required migration failed
    (``failures``)."""
    while True:
        for uid, line in await settle(client, moving, name, streams):
            failures.append(line)
            evicted.discard(uid)
        remaining = [w for _, w in await bound_workloads(client, name) if w.metadata.uid in evicted]
        if not remaining:
            return
        await asyncio.sleep(_POLL_SECONDS)
