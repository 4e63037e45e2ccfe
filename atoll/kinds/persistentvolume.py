"""PersistentVolume: a piece of storage (a directory or file on one node, or in the shared dir),
made by an admin or provisioned for a claim (atoll/storage.py says where its data lives)."""

from __future__ import annotations

from atoll import storage
from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, Column, or_none
from atoll.kinds.kind import KindStrategy
from atoll.kinds.persistentvolumeclaim import access_short
from atoll.v1 import storage_pb2
from atoll.validation.base import FieldError
from atoll.validation.storage import validate_volume_spec, validate_volume_status, validate_volume_update


def _claim(volume: storage_pb2.PersistentVolume) -> str:
    ref = volume.spec.claim_ref
    return f"{ref.namespace}/{ref.name}" if ref.name else ""


class PersistentVolumeKind(KindStrategy[storage_pb2.PersistentVolume]):
    def default(self, obj: storage_pb2.PersistentVolume) -> None:
        """Reclaim Delete, Filesystem, and a new volume is Available."""
        if not obj.spec.persistent_volume_reclaim_policy:
            obj.spec.persistent_volume_reclaim_policy = storage.RECLAIM_DELETE
        if not obj.spec.volume_mode:
            obj.spec.volume_mode = storage.FILESYSTEM
        if not obj.status.phase:
            obj.status.phase = storage.VOLUME_AVAILABLE

    def validate(self, obj: storage_pb2.PersistentVolume, errors: list[FieldError]) -> None:
        validate_volume_spec(obj.spec, "spec", errors)

    def validate_status(self, obj: storage_pb2.PersistentVolume, errors: list[FieldError]) -> None:
        validate_volume_status(obj.status, "status", errors)

    def validate_update(
        self, old: storage_pb2.PersistentVolume, new: storage_pb2.PersistentVolume, errors: list[FieldError]
    ) -> None:
        validate_volume_update(old, new, errors)


KIND = PersistentVolumeKind(
    name="PersistentVolume",
    plural="persistentvolumes",
    short=("pv",),
    field="persistent_volume",
    message=storage_pb2.PersistentVolume,
    namespaced=False,
    kept_by_apply=("claim_ref",),  # written by the binding controller
    columns=(
        NAME_COLUMN,
        Column("CAPACITY", lambda v, now: str(v.spec.capacity.get(storage.STORAGE, ""))),
        Column("ACCESS MODES", lambda v, now: access_short(v.spec.access_modes)),
        Column("RECLAIM POLICY", lambda v, now: str(v.spec.persistent_volume_reclaim_policy)),
        Column("STATUS", lambda v, now: v.status.phase or storage.VOLUME_AVAILABLE),
        Column("CLAIM", lambda v, now: _claim(v)),
        Column("STORAGECLASS", lambda v, now: or_none(v.spec.storage_class_name)),
        Column("REASON", lambda v, now: str(v.status.reason)),
        AGE_COLUMN,
        Column("VOLUMEMODE", lambda v, now: storage.volume_mode(v.spec.volume_mode), wide=True),
        Column("NODE", lambda v, now: or_none(storage.volume_node(v) or ""), wide=True),
    ),
    selectable_fields={"status.phase": lambda m: str(m.status.phase)},
)
