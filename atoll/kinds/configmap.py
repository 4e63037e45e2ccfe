"""ConfigMap: configuration as key -> text or bytes, projected into pods as files or variables."""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, Column
from atoll.kinds.kind import KindStrategy
from atoll.v1 import config_pb2
from atoll.validation.base import FieldError
from atoll.validation.config import validate_config_map, validate_immutable_update


def entries(config_map: config_pb2.ConfigMap) -> int:
    return len(config_map.data) + len(config_map.binary_data)


class ConfigMapKind(KindStrategy[config_pb2.ConfigMap]):
    def validate(self, obj: config_pb2.ConfigMap, errors: list[FieldError]) -> None:
        validate_config_map(obj, errors)

    def validate_update(self, old: config_pb2.ConfigMap, new: config_pb2.ConfigMap, errors: list[FieldError]) -> None:
        """An immutable ConfigMap keeps data, binaryData and immutable."""
        validate_immutable_update(
            (dict(old.data), dict(old.binary_data)),
            (dict(new.data), dict(new.binary_data)),
            old.immutable,
            new.immutable,
            errors,
        )


KIND = ConfigMapKind(
    name="ConfigMap",
    plural="configmaps",
    short=("cm",),
    field="config_map",
    message=config_pb2.ConfigMap,
    namespaced=True,
    has_status=False,
    columns=(NAME_COLUMN, Column("DATA", lambda cm, now: str(entries(cm))), AGE_COLUMN),
)
