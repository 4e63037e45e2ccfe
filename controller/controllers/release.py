"""Releasing a workload whose node agent cannot: the force part of evicting from a lost node."""

from __future__ import annotations

from typing import Any, Protocol

import grpc

from atoll import finalizers, kinds
from atoll.client import ApiError

# Status reason of a workload whose node stopped heartbeating past its toleration.
NODE_LOST_REASON = "NodeLost"


class ReleaseApi(Protocol):
    async def update(self, obj: Any) -> Any: ...


async def release_from_lost_node(api: ReleaseApi, deleted: Any) -> None:
    """Removes the node agent's finalizer from ``deleted`` (a DeleteResponse of a workload marked
    for deletion), so it disappears although its agent is gone. An agent that comes back stops
    whatever it still runs that no longer exists, so nothing runs twice once a partition heals.
    A lost race (the object changed or vanished meanwhile) is left to the next reconcile."""
    if deleted is None or deleted.deleted or not deleted.HasField("object"):
        return
    obj = kinds.unwrap(deleted.object)
    if finalizers.NODE_AGENT not in obj.metadata.finalizers:
        return
    released = type(obj)()
    released.CopyFrom(obj)
    released.metadata.finalizers.remove(finalizers.NODE_AGENT)
    try:
        await api.update(released)
    except ApiError as err:
        if err.code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ABORTED):
            raise
