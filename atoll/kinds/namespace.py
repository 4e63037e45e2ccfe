"""Namespace: isolation of names. Deleting one deletes everything in it first (the API server's
namespace deletion, controller/apiserver/kind_hooks.py)."""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, Column
from atoll.kinds.kind import KindStrategy
from atoll.v1 import namespace_pb2
from atoll.validation.base import FieldError
from atoll.validation.cluster import validate_namespace_spec, validate_namespace_status


class NamespaceKind(KindStrategy[namespace_pb2.Namespace]):
    def default(self, obj: namespace_pb2.Namespace) -> None:
        """A new namespace is Active."""
        if not obj.status.phase:
            obj.status.phase = "Active"

    def validate(self, obj: namespace_pb2.Namespace, errors: list[FieldError]) -> None:
        validate_namespace_spec(obj.spec, "spec", errors)

    def validate_status(self, obj: namespace_pb2.Namespace, errors: list[FieldError]) -> None:
        validate_namespace_status(obj.status, "status", errors)


KIND = NamespaceKind(
    name="Namespace",
    plural="namespaces",
    short=("ns",),
    field="namespace",
    message=namespace_pb2.Namespace,
    namespaced=False,
    name_is_dns_label=True,
    columns=(NAME_COLUMN, Column("STATUS", lambda ns, now: ns.status.phase or "Active"), AGE_COLUMN),
    selectable_fields={"status.phase": lambda m: str(m.status.phase)},
)
