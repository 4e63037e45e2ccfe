"""Following one object's states, for ``wait`` and ``apply --wait``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from atoll import kinds
from atoll.client import Client
from atoll.v1 import object_pb2
from atoll.watch_events import DELETED, RESYNC, SYNCED


async def states(
    client: Client, kind: kinds.Kind, namespace: str, name: str
) -> AsyncIterator[object_pb2.Object | None]:
    """The object as it is now (None: absent), then after each change (None: deleted), forever;
    a relist after compaction or a broken watch yields the state again (list_then_watch)."""
    seen: object_pb2.Object | None = None
    listing = True
    async for event in client.list_then_watch(kind.name, namespace, field_selector=f"metadata.name={name}"):
        if event.type == RESYNC:
            listing, seen = True, None
        elif event.type == SYNCED:
            listing = False
            yield seen
        elif event.type == DELETED:
            seen = None
            if not listing:
                yield None
        else:
            seen = event.object
            if not listing:
                yield seen
