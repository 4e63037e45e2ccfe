"""Owner references: who controls an object, and the reference a controller stamps on what it makes."""

from __future__ import annotations

from atoll.ports import ApiObject
from atoll.v1 import meta_pb2


def controller_of(meta: meta_pb2.ObjectMeta) -> meta_pb2.OwnerReference | None:
    """The owner reference with ``controller`` set, if any (at most one is meaningful)."""
    for ref in meta.owner_references:
        if ref.controller:
            return ref
    return None


def controller_ref(kind: str, owner: ApiObject) -> meta_pb2.OwnerReference:
    """The reference a controller puts on objects it creates: controller, blocking foreground delete."""
    return meta_pb2.OwnerReference(
        kind=kind, name=owner.metadata.name, uid=owner.metadata.uid, controller=True, block_owner_deletion=True
    )
