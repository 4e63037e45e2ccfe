"""ApiPort: the part of the API the scheduler's scheduling loop uses; ``atoll.client.Client`` fits it,
and tests pass a scriptable fake. Contracts are those of the Objects service (api.proto)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from atoll.v1 import api_pb2, object_pb2


class ApiPort(Protocol):
    def list_then_watch(self, kind: str) -> AsyncIterator[api_pb2.WatchEvent]:
        """ADDED per existing object, SYNCED, then every change; RESYNC + relist after compaction."""
        ...

    async def bind(self, bindings: Sequence[api_pb2.Binding]) -> api_pb2.BindResponse:
        """One BindResult per binding, same order; each succeeds or fails on its own."""
        ...

    async def update_status(self, obj: object_pb2.Object) -> object_pb2.Object:
        """Replace the status; ABORTED unless metadata.resource_version is current (0: any)."""
        ...

    async def batch_create(self, objects: Sequence[object_pb2.Object]) -> api_pb2.BatchCreateResponse:
        """Create many objects, one result each (the scheduler's Events, through an EventSink)."""
        ...

    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str = "default",
        precondition_resource_version: int = 0,
        propagation_policy: str = "",
    ) -> api_pb2.DeleteResponse:
        """Delete one object (preemption victims)."""
        ...
