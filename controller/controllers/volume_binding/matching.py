"""Pure choices of the volume binding controller: which volume serves a claim, where a claim's
first consumer runs, and the volume a provisioner makes for a claim."""

from __future__ import annotations

from collections.abc import Iterable

from atoll import storage
from atoll.v1 import storage_pb2
from controller.controllers.workloads import Workload


def provisioned_name(claim: storage_pb2.PersistentVolumeClaim) -> str:
    """``pvc-<claim uid>``: one volume per claim, so a retried provisioning finds what it made."""
    return f"pvc-{claim.metadata.uid}"


def best_volume(
    claim: storage_pb2.PersistentVolumeClaim,
    volumes: Iterable[storage_pb2.PersistentVolume],
    node: str | None,
) -> storage_pb2.PersistentVolume | None:
    """The volume to bind ``claim`` to: one reserved for this very claim (its uid in claimRef)
    first, else the smallest Available volume that serves it; with ``node`` (a WaitForFirstConsumer
    claim whose consumer runs there) only volumes that node reaches."""
    smallest: storage_pb2.PersistentVolume | None = None
    for volume in volumes:
        if volume.metadata.HasField("deletion_timestamp"):
            continue
        if volume.spec.claim_ref.uid and volume.spec.claim_ref.uid == claim.metadata.uid:
            return volume
        if volume.status.phase != storage.VOLUME_AVAILABLE or volume.spec.claim_ref.uid:
            continue
        if storage.volume_serves_problem(volume, claim) is not None:
            continue
        on = storage.volume_node(volume)
        if node is not None and on is not None and on != node:
            continue
        if smallest is None or storage.volume_size(volume) < storage.volume_size(smallest):
            smallest = volume
    return smallest


def first_consumer_node(users: Iterable[Workload]) -> str | None:
    """The node of the first (oldest) consumer already placed, or None."""
    placed = sorted(
        (u for u in users if u.spec.node_name),
        key=lambda u: (u.metadata.creation_timestamp.seconds, u.metadata.creation_timestamp.nanos, u.metadata.name),
    )
    return str(placed[0].spec.node_name) if placed else None


def provisioned_volume(
    claim: storage_pb2.PersistentVolumeClaim, storage_class: storage_pb2.StorageClass, node: str | None
) -> storage_pb2.PersistentVolume:
    """The volume ``storage_class``'s provisioner makes for ``claim`` (on ``node`` for a local
    class): the claim's size, modes and class, the class's reclaim policy, reserved for the claim."""
    volume = storage_pb2.PersistentVolume()
    name = provisioned_name(claim)
    volume.metadata.name = name
    volume.metadata.annotations[storage.PROVISIONED_BY_ANNOTATION] = storage_class.provisioner
    spec = volume.spec
    spec.capacity[storage.STORAGE] = claim.spec.resources.requests[storage.STORAGE]
    spec.access_modes.extend(claim.spec.access_modes)
    spec.persistent_volume_reclaim_policy = storage_class.reclaim_policy or storage.RECLAIM_DELETE
    spec.storage_class_name = storage_class.metadata.name
    spec.volume_mode = storage.volume_mode(claim.spec.volume_mode)
    ref = spec.claim_ref
    ref.kind, ref.namespace, ref.name, ref.uid = (
        "PersistentVolumeClaim",
        claim.metadata.namespace,
        claim.metadata.name,
        claim.metadata.uid,
    )
    if storage_class.provisioner == storage.LOCAL_PROVISIONER:
        spec.local.path = name
        storage.pin_to_node(volume, node or "")
    else:
        spec.shared.path = name
    if spec.persistent_volume_reclaim_policy == storage.RECLAIM_DELETE:
        volume.metadata.finalizers.append(storage.VOLUME_DATA_FINALIZER)
    return volume
