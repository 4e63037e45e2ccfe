"""Shared watches of bound workloads: one list-then-watch stream per kind, whatever the number of
nodes it feeds. A single agent selects ``spec.nodeName=NODE``; a hollow fleet selects every bound
workload (``spec.nodeName!=``) and dispatches by node name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from atoll import kinds
from atoll.client import Client
from atoll.v1 import api_pb2
from atoll.watch_events import SYNCED

WORKLOAD_KINDS = ("Pod", "VirtualMachine")
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
    return [
        asyncio.create_task(follow(client, kind, selector, dispatch, synced), name=f"watch-{kind}")
        for kind in WORKLOAD_KINDS
    ]


def node_of(event: api_pb2.WatchEvent) -> str:
    return str(kinds.unwrap(event.object).spec.node_name)
