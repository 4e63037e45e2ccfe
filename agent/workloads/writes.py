"""The agent's writes to a workload: its finalizer (Update) and its status (UpdateStatus, batched
with other workloads' by a StatusBatcher).

- The finalizer write is conditional on the revision read, re-reading on conflict, so a user's
  concurrent spec change is never overwritten.
- Status writes are unconditional: the status of a bound workload is the agent's alone (the
  scheduler wrote its PodScheduled condition before binding; the caller keeps conditions it does
  not own), so racing writers are not a concern and a write costs one round trip.
Each returns the object as stored, or None when it no longer exists.
"""

from __future__ import annotations

from typing import Any

import grpc

from agent.workloads.status_batch import StatusBatcher
from atoll import kinds
from atoll.client import ApiError, Client
from atoll.v1 import object_pb2

_CONFLICT_RETRIES = 10


async def set_finalizer(client: Client, obj: object_pb2.Object, finalizer: str, present: bool) -> Any | None:
    """Add (``present``) or remove ``finalizer`` on the object in ``obj``; returns the message as
    stored, or None when it is gone (removing the last finalizer of a deleting object deletes it,
    which also returns None)."""
    kind = kinds.of_object(obj)
    message = kinds.unwrap(obj)
    for _ in range(_CONFLICT_RETRIES):
        has = finalizer in message.metadata.finalizers
        if has == present:
            return message
        changed = kind.message()
        changed.CopyFrom(message)
        if present:
            changed.metadata.finalizers.append(finalizer)
        else:
            changed.metadata.finalizers.remove(finalizer)
        try:
            stored = kinds.unwrap(await client.update(changed))
        except ApiError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            if err.code != grpc.StatusCode.ABORTED:
                raise
            try:
                message = kinds.unwrap(await client.get(kind.name, message.metadata.name, message.metadata.namespace))
            except ApiError as gone:
                if gone.code == grpc.StatusCode.NOT_FOUND:
                    return None
                raise
            continue
        if not present and not stored.metadata.finalizers and stored.metadata.HasField("deletion_timestamp"):
            return None
        return stored
    label = f"{kind.singular}/{message.metadata.name}"
    raise ApiError(grpc.StatusCode.ABORTED, f"{label}: finalizer update kept conflicting")


async def write_status(statuses: StatusBatcher, message: Any) -> Any | None:
    """UpdateStatus with ``message``'s status, unconditionally; the stored message or None if gone."""
    copy = type(message)()
    copy.CopyFrom(message)
    copy.metadata.resource_version = 0
    return await statuses.write(copy)
