"""PersistentVolumeClaim: a namespaced request for storage, bound to one PersistentVolume by the
volume binding controller (controller/controllers/volume_binding/)."""

from __future__ import annotations

from atoll import storage
from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, Column, or_none
from atoll.kinds.kind import KindStrategy
from atoll.kinds.readiness import Readiness
from atoll.v1 import storage_pb2
from atoll.validation.base import FieldError
from atoll.validation.storage import validate_claim_spec, validate_claim_status, validate_claim_update

_ACCESS_SHORT = {storage.READ_WRITE_ONCE: "RWO", storage.READ_WRITE_MANY: "RWX", storage.READ_ONLY_MANY: "ROX"}


def access_short(modes: object) -> str:
    """RWO,RWX as kubectl prints access modes."""
    return ",".join(_ACCESS_SHORT.get(str(mode), str(mode)) for mode in modes) or "<none>"  # type: ignore[attr-defined]


class PersistentVolumeClaimKind(KindStrategy[storage_pb2.PersistentVolumeClaim]):
    def default(self, obj: storage_pb2.PersistentVolumeClaim) -> None:
        """Filesystem volumes; a new claim is Pending."""
        if not obj.spec.volume_mode:
            obj.spec.volume_mode = storage.FILESYSTEM
        if not obj.status.phase:
            obj.status.phase = storage.CLAIM_PENDING

    def validate(self, obj: storage_pb2.PersistentVolumeClaim, errors: list[FieldError]) -> None:
        validate_claim_spec(obj.spec, "spec", errors)

    def validate_status(self, obj: storage_pb2.PersistentVolumeClaim, errors: list[FieldError]) -> None:
        validate_claim_status(obj.status, "status", errors)

    def validate_update(
        self, old: storage_pb2.PersistentVolumeClaim, new: storage_pb2.PersistentVolumeClaim, errors: list[FieldError]
    ) -> None:
        validate_claim_update(old, new, errors)

    def readiness(self, obj: storage_pb2.PersistentVolumeClaim) -> Readiness:
        phase = obj.status.phase or "Pending"
        return Readiness(phase == "Bound", phase == "Lost", phase)


KIND = PersistentVolumeClaimKind(
    name="PersistentVolumeClaim",
    plural="persistentvolumeclaims",
    short=("pvc",),
    field="persistent_volume_claim",
    message=storage_pb2.PersistentVolumeClaim,
    namespaced=True,
    kept_by_apply=("volume_name", "storage_class_name"),  # written by the binding controller
    columns=(
        NAME_COLUMN,
        Column("STATUS", lambda c, now: c.status.phase or storage.CLAIM_PENDING),
        Column("VOLUME", lambda c, now: str(c.spec.volume_name)),
        Column("CAPACITY", lambda c, now: str(c.status.capacity.get(storage.STORAGE, ""))),
        Column("ACCESS MODES", lambda c, now: access_short(c.spec.access_modes)),
        Column("STORAGECLASS", lambda c, now: or_none(c.spec.storage_class_name)),
        AGE_COLUMN,
        Column("VOLUMEMODE", lambda c, now: storage.volume_mode(c.spec.volume_mode), wide=True),
        Column(
            "NODE", lambda c, now: or_none(c.metadata.annotations.get(storage.SELECTED_NODE_ANNOTATION, "")), wide=True
        ),
    ),
    selectable_fields={
        "status.phase": lambda m: str(m.status.phase),
        "spec.storageClassName": lambda m: str(m.spec.storage_class_name),
    },
)
