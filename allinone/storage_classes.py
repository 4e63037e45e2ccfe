"""The two StorageClasses `atoll up` makes: ``local`` (the default) and ``shared``.

Created when absent, never changed when present (an admin may have edited or replaced one), so a
second start, a restart after kill -9 or a start against another server's store is the same.
"""

from __future__ import annotations

import grpc

from atoll import storage
from atoll.client import ApiError
from atoll.ports import Creator
from atoll.v1 import storage_pb2


def default_storage_classes() -> tuple[storage_pb2.StorageClass, ...]:
    """``local``: node directories, provisioned where the first consumer lands (WaitForFirstConsumer),
    the default class; ``shared``: the shared directory, bound at once, ReadWriteMany allowed. Both
    reclaim Delete and allow expansion (for a directory only the recorded capacity grows)."""
    local = storage_pb2.StorageClass(
        provisioner=storage.LOCAL_PROVISIONER,
        reclaim_policy=storage.RECLAIM_DELETE,
        volume_binding_mode=storage.WAIT_FOR_FIRST_CONSUMER,
        allow_volume_expansion=True,
    )
    local.metadata.name = storage.LOCAL_CLASS
    local.metadata.annotations[storage.DEFAULT_CLASS_ANNOTATION] = "true"
    shared = storage_pb2.StorageClass(
        provisioner=storage.SHARED_PROVISIONER,
        reclaim_policy=storage.RECLAIM_DELETE,
        volume_binding_mode=storage.IMMEDIATE,
        allow_volume_expansion=True,
    )
    shared.metadata.name = storage.SHARED_CLASS
    return local, shared


async def ensure_storage_classes(client: Creator) -> list[str]:
    """Creates each default class that does not exist; returns the names it created."""
    created = []
    for storage_class in default_storage_classes():
        try:
            await client.create(storage_class)
        except ApiError as exc:
            if exc.code is not grpc.StatusCode.ALREADY_EXISTS:
                raise
            continue
        created.append(storage_class.metadata.name)
    return created
