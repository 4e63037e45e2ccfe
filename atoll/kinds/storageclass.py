"""StorageClass: how volumes of a class are provisioned (atoll.dev/local or atoll.dev/shared), when
(Immediate or WaitForFirstConsumer), and what happens to their data after their claim."""

from __future__ import annotations

from atoll import storage
from atoll.kinds.columns import AGE_COLUMN, Column
from atoll.kinds.kind import KindStrategy
from atoll.v1 import storage_pb2
from atoll.validation.base import FieldError
from atoll.validation.storage import validate_storage_class, validate_storage_class_update


def _name(storage_class: storage_pb2.StorageClass, now: float) -> str:
    name = str(storage_class.metadata.name)
    return f"{name} (default)" if storage.is_default_class(storage_class) else name


class StorageClassKind(KindStrategy[storage_pb2.StorageClass]):
    def default(self, obj: storage_pb2.StorageClass) -> None:
        """Reclaim Delete; binding WaitForFirstConsumer for local volumes (they need a node),
        else Immediate (Kubernetes' default)."""
        if not obj.reclaim_policy:
            obj.reclaim_policy = storage.RECLAIM_DELETE
        if not obj.volume_binding_mode:
            local = obj.provisioner == storage.LOCAL_PROVISIONER
            obj.volume_binding_mode = storage.WAIT_FOR_FIRST_CONSUMER if local else storage.IMMEDIATE

    def validate(self, obj: storage_pb2.StorageClass, errors: list[FieldError]) -> None:
        validate_storage_class(obj, errors)

    def validate_update(
        self, old: storage_pb2.StorageClass, new: storage_pb2.StorageClass, errors: list[FieldError]
    ) -> None:
        validate_storage_class_update(old, new, errors)


KIND = StorageClassKind(
    name="StorageClass",
    plural="storageclasses",
    short=("sc",),
    field="storage_class",
    message=storage_pb2.StorageClass,
    namespaced=False,
    has_status=False,
    columns=(
        Column("NAME", _name),
        Column("PROVISIONER", lambda c, now: str(c.provisioner)),
        Column("RECLAIMPOLICY", lambda c, now: str(c.reclaim_policy)),
        Column("VOLUMEBINDINGMODE", lambda c, now: str(c.volume_binding_mode)),
        Column("ALLOWVOLUMEEXPANSION", lambda c, now: str(c.allow_volume_expansion).lower()),
        AGE_COLUMN,
    ),
)
