"""Role and RoleBinding validation reports every problem at its field path."""

from __future__ import annotations

import pytest

from atoll.kinds.checks import validate
from atoll.v1 import object_pb2, rbac_pb2


def role(name: str = "reader", **rule: list[str]) -> object_pb2.Object:
    obj = object_pb2.Object(role=rbac_pb2.Role())
    obj.role.metadata.name = name
    obj.role.spec.rules.add(**(rule or {"verbs": ["get"], "kinds": ["Pod"]}))
    return obj


def binding(role_ref: str = "viewer", subjects: tuple[tuple[str, str], ...] = (("User", "u"),)) -> object_pb2.Object:
    obj = object_pb2.Object(role_binding=rbac_pb2.RoleBinding())
    obj.role_binding.metadata.name = "b"
    obj.role_binding.spec.role_ref = role_ref
    for kind, name in subjects:
        obj.role_binding.spec.subjects.add(kind=kind, name=name)
    return obj


CASES = [
    (role(), [], "a valid role"),
    (role(verbs=["*"], kinds=["*"], namespaces=["team-a"]), [], "wildcards and namespaces"),
    (role("admin"), ["metadata.name"], "a built-in role name is reserved"),
    (role(verbs=["fly"], kinds=["Pod"]), ["spec.rules[0].verbs[0]"], "an unknown verb"),
    (role(verbs=["get"], kinds=["Pods"]), ["spec.rules[0].kinds[0]"], "an unknown kind"),
    (role(verbs=[], kinds=[]), ["spec.rules[0].verbs", "spec.rules[0].kinds"], "empty verbs and kinds"),
    (role(verbs=["get"], kinds=["Pod"], namespaces=["Team A"]), ["spec.rules[0].namespaces[0]"], "a bad namespace"),
    (binding(), [], "a valid binding"),
    (binding(""), ["spec.roleRef"], "a missing role"),
    (binding(subjects=()), ["spec.subjects"], "no subjects"),
    (
        binding(subjects=(("Robot", "r"), ("Group", ""))),
        ["spec.subjects[0].kind", "spec.subjects[1].name"],
        "bad subjects",
    ),
]


@pytest.mark.parametrize(("obj", "paths"), [c[:2] for c in CASES], ids=[c[2] for c in CASES])
def test_rbac_validation(obj: object_pb2.Object, paths: list[str]) -> None:
    assert [error.path for error in validate(obj)] == paths
