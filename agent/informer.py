"""Shared watches of bound workloads and of the nodes themselves: one list-then-watch stream per
kind, whatever the number of nodes it feeds. A single agent selects ``spec.nodeName=NODE`` (and its
own Node by ``metadata.name``); a hollow fleet selects every bound workload (``spec.nodeName!=``)
and every Node, and dispatches by node name. Live migrations: a single agent watches those with
it as source and those with it as target; a fleet watches them all and hands each to both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from atoll import kinds
from atoll.client import Client
from atoll.v1 import api_pb2
from atoll.watch_events import SYNCED

WORKLOAD_KINDS = ("Pod", "VirtualMachine")
MIGRATION = "VirtualMachineMigration"
Dispatch = Callable[[str, api_pb2.WatchEvent], None]
Synced = Callable[[str], None]


def node_selector(node_name: str | None) -> str:
    """The field selector for workloads bound to ``node_name`` (None: bound to any node)."""
    return f"spec.nodeName={node_name}" if node_name else "spec.nodeName!="


async def follow(client: Client, kind: str, field_selector: str, dispatch: Dispatch, synced: Synced) -> None:
    """Feed every event of ``kind`` to ``dispatch`` forever (RESYNC/ADDED upserts, DELETED);
    ``synced(kind)`` after each complete list. Runs until cancelled."""
    async for event in client.list_then_watch(kind, field_selector=field_selector):
        if event.type == SYNCED:
            synced(kind)
        elif event.object.WhichOneof("kind") is not None:
            dispatch(kind, event)


def start_watches(client: Client, node_name: str | None, dispatch: Dispatch,
                  synced: Synced) -> list[asyncio.Task[None]]:
    """One ``follow`` task per workload kind."""
    selector = node_selector(node_name)
    watches = [
        asyncio.create_task(follow(client, kind, selector, dispatch, synced), name=f"watch-{kind}")
        for kind in WORKLOAD_KINDS
    ]
    own = f"metadata.name={node_name}" if node_name else ""
    watches.append(asyncio.create_task(follow(client, "Node", own, dispatch, synced), name="watch-Node"))
    ends = ("sourceNode", "targetNode") if node_name else ("",)
    for end in ends:
        selector = f"status.{end}={node_name}" if end else ""
        watches.append(asyncio.create_task(follow(client, MIGRATION, selector, dispatch, synced),
                                           name=f"watch-{MIGRATION}{end}"))
    return watches


def nodes_of(event: api_pb2.WatchEvent) -> tuple[str, ...]:
    """The nodes an event concerns: the Node itself, the node a workload is bound to, or the
    source and target of a migration."""
    message = kinds.unwrap(event.object)
    field = event.object.WhichOneof("kind")
    if field == "node":
        return (str(message.metadata.name),)
    if field == "virtual_machine_migration":
        return tuple(node for node in (message.status.source_node, message.status.target_node) if node)
    return (str(message.spec.node_name),)
