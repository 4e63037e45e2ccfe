"""RoleBinding: grants a Role to users and groups, in some namespaces or all."""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, NONE, Column
from atoll.kinds.kind import KindStrategy
from atoll.v1 import rbac_pb2
from atoll.validation.base import FieldError
from atoll.validation.rbac import validate_role_binding


class RoleBindingKind(KindStrategy[rbac_pb2.RoleBinding]):
    def validate(self, obj: rbac_pb2.RoleBinding, errors: list[FieldError]) -> None:
        validate_role_binding(obj, errors)


KIND = RoleBindingKind(
    name="RoleBinding",
    plural="rolebindings",
    short=("rb",),
    field="role_binding",
    message=rbac_pb2.RoleBinding,
    namespaced=False,
    has_status=False,
    columns=(
        NAME_COLUMN,
        Column("ROLE", lambda binding, now: str(binding.spec.role_ref)),
        Column(
            "SUBJECTS", lambda binding, now: ",".join(f"{s.kind}:{s.name}" for s in binding.spec.subjects) or NONE
        ),
        Column("NAMESPACES", lambda binding, now: ",".join(binding.spec.namespaces) or "<all>"),
        AGE_COLUMN,
    ),
)
