"""Role: a named set of rules (verbs on kinds in namespaces) that RoleBindings grant."""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, Column
from atoll.kinds.kind import WIRE_KIND_NAMES, KindStrategy
from atoll.v1 import rbac_pb2
from atoll.validation.base import FieldError
from atoll.validation.rbac import validate_role


class RoleKind(KindStrategy[rbac_pb2.Role]):
    def validate(self, obj: rbac_pb2.Role, errors: list[FieldError]) -> None:
        validate_role(obj, WIRE_KIND_NAMES, errors)


KIND = RoleKind(
    name="Role",
    plural="roles",
    short=(),
    field="role",
    message=rbac_pb2.Role,
    namespaced=False,
    has_status=False,
    columns=(NAME_COLUMN, Column("RULES", lambda role, now: str(len(role.spec.rules))), AGE_COLUMN),
)
