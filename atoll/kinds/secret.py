"""Secret: credentials as key -> bytes. Encrypted at rest by the API server, returned with data
only to callers allowed Secret data (controller/apiserver/auth/secret_data.py), never printed by
``describe`` (keys and sizes only)."""

from __future__ import annotations

from typing import Any

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, Column
from atoll.kinds.kind import KindStrategy
from atoll.v1 import config_pb2
from atoll.validation.base import FieldError
from atoll.validation.config import validate_immutable_update, validate_secret

DEFAULT_TYPE = "Opaque"


def merge_string_data(secret: config_pb2.Secret) -> None:
    """Moves stringData into data (its keys win over data's, as Kubernetes does), in place."""
    for key, value in secret.string_data.items():
        secret.data[key] = value.encode()
    secret.ClearField("string_data")


class SecretKind(KindStrategy[config_pb2.Secret]):
    def default(self, obj: config_pb2.Secret) -> None:
        """type Opaque; stringData merged into data (stringData is never stored)."""
        if not obj.type:
            obj.type = DEFAULT_TYPE
        merge_string_data(obj)

    def described(self, obj: config_pb2.Secret, manifest: dict[str, Any]) -> dict[str, Any]:
        """Keys and sizes, never values (``<redacted>`` sizes when the reader may not see data)."""
        shown = dict(manifest)
        shown.pop("dataRedacted", None)
        if obj.data:
            shown["data"] = {
                key: "<redacted>" if obj.data_redacted else f"{len(obj.data[key])} bytes" for key in sorted(obj.data)
            }
        return shown

    def validate(self, obj: config_pb2.Secret, errors: list[FieldError]) -> None:
        validate_secret(obj, errors)

    def validate_update(self, old: config_pb2.Secret, new: config_pb2.Secret, errors: list[FieldError]) -> None:
        """An immutable Secret keeps its data and immutable."""
        validate_immutable_update(dict(old.data), dict(new.data), old.immutable, new.immutable, errors)


KIND = SecretKind(
    name="Secret",
    plural="secrets",
    short=(),
    field="secret",
    message=config_pb2.Secret,
    namespaced=True,
    has_status=False,
    columns=(
        NAME_COLUMN,
        Column("TYPE", lambda secret, now: secret.type or DEFAULT_TYPE),
        Column("DATA", lambda secret, now: str(len(secret.data))),
        AGE_COLUMN,
    ),
)
