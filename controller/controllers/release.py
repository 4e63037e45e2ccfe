"""Releasing a workload whose node agent cannot: the force part of evicting from a lost node."""

from __future__ import annotations

import grpc

from atoll import finalizers
from atoll.client import ApiError
from atoll.ports import Updater, metadata_of
from atoll.v1 import api_pb2, object_pb2

# Status reason of a workload whose node stopped heartbeating past its toleration.
NODE_LOST_REASON = "NodeLost"


async def release_from_lost_node(api: Updater, deleted: api_pb2.DeleteResponse | None) -> None:
    """Removes the node agent's finalizer from ``deleted`` (a DeleteResponse of a workload marked
    for deletion), so it disappears although its agent is gone. An agent that comes back stops
    whatever it still runs that no longer exists, so nothing runs twice once a partition heals.
    A lost race (the object changed or vanished meanwhile) is left to the next reconcile."""
    if deleted is None or deleted.deleted or not deleted.HasField("object"):
        return
    if finalizers.NODE_AGENT not in metadata_of(deleted.object).finalizers:
        return
    released = object_pb2.Object()
    released.CopyFrom(deleted.object)
    metadata_of(released).finalizers.remove(finalizers.NODE_AGENT)
    try:
        await api.update(released)
    except ApiError as err:
        if err.code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ABORTED):
            raise
