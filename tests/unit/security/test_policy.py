"""RBAC decisions: built-in roles, bindings limited to namespaces, custom roles."""

from __future__ import annotations

import pytest

from atoll import kinds
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.identity import UserInfo
from controller.apiserver.auth.policy import Policy
from controller.apiserver.auth.rules import Binding, Rule


def request(verb: str, kind: str, namespace: str = "") -> RequestAttributes:
    return RequestAttributes(verb, kinds.by_name(kind), namespace, "x")


def bound(role: str, *namespaces: str) -> Policy:
    return Policy({}, [Binding("b", role, users=frozenset({"u"}), namespaces=frozenset(namespaces))])


USER = UserInfo("u")

CASES = [
    ("admin", (), request("delete", "Node"), True, "admin deletes nodes"),
    ("admin", (), request("create", "RoleBinding"), True, "admin manages bindings"),
    ("viewer", (), request("list", "Pod"), True, "viewer lists pods everywhere"),
    ("viewer", (), request("create", "Pod", "a"), False, "viewer may not create"),
    ("viewer", (), request("updatestatus", "Node"), False, "viewer may not write status"),
    ("editor", ("a",), request("create", "Deployment", "a"), True, "editor creates deployments in its namespace"),
    ("editor", ("a",), request("create", "Pod", "b"), False, "editor may not write in another namespace"),
    ("editor", ("a",), request("list", "Pod", ""), False, "editor may not list across namespaces"),
    ("editor", (), request("create", "Namespace"), False, "editor may not create namespaces"),
    ("editor", (), request("updatestatus", "Pod", "a"), False, "editor may not write status"),
    ("editor", (), request("bind", "Pod", "a"), False, "editor may not bind"),
    ("scheduler", (), request("bind", "VirtualMachine", "a"), True, "scheduler binds"),
    ("scheduler", (), request("updatestatus", "Pod", "a"), True, "scheduler writes pod conditions"),
    ("scheduler", (), request("create", "Event", "a"), True, "scheduler records events"),
    ("scheduler", (), request("create", "Pod", "a"), False, "scheduler may not create pods"),
    ("scheduler", (), request("update", "Node"), False, "scheduler may not change nodes"),
    ("controller", (), request("create", "Pod", "a"), True, "controller creates replicas"),
    ("controller", (), request("updatestatus", "Deployment", "a"), True, "controller writes deployment status"),
    ("controller", (), request("updatestatus", "Node"), True, "controller marks nodes not ready"),
    ("controller", (), request("create", "RoleBinding"), False, "controller may not grant roles"),
    ("controller", (), request("delete", "Namespace"), False, "controller may not delete namespaces"),
    ("node", (), request("get", "Pod", "a"), False, "the node role grants nothing by rules"),
    ("fleet", (), request("updatestatus", "Node"), True, "a fleet writes the status of any node"),
    ("fleet", (), request("updatestatus", "Pod", "a"), True, "a fleet writes workload status"),
    ("fleet", (), request("update", "Pod", "a"), False, "a fleet never writes a workload's spec"),
    ("fleet", (), request("delete", "Node"), False, "a fleet may not delete nodes"),
    ("missing-role", (), request("get", "Pod", "a"), False, "a binding to an unknown role grants nothing"),
]


@pytest.mark.parametrize(
    ("role", "namespaces", "attributes", "allowed"),
    [case[:4] for case in CASES],
    ids=[case[4] for case in CASES],
)
def test_builtin_roles(role: str, namespaces: tuple[str, ...], attributes: RequestAttributes, allowed: bool) -> None:
    assert bound(role, *namespaces).allows(USER, attributes) is allowed


def test_builtin_bindings_need_no_objects() -> None:
    policy = Policy({}, [])
    assert policy.allows(UserInfo("root", frozenset({"system:masters"})), request("delete", "Node"))
    assert policy.allows(UserInfo("system:scheduler"), request("bind", "Pod", "a"))
    assert policy.allows(UserInfo("system:controller-manager"), request("create", "Pod", "a"))
    assert not policy.allows(UserInfo("nobody"), request("get", "Pod", "a"))


def test_custom_role_limits_by_rule_and_binding_namespaces() -> None:
    rules = (Rule(frozenset({"get"}), frozenset({"Pod"}), frozenset({"a", "b"})),)
    policy = Policy(
        {"reader": rules}, [Binding("b", "reader", groups=frozenset({"g"}), namespaces=frozenset({"b", "c"}))]
    )
    member = UserInfo("m", frozenset({"g"}))
    assert policy.allows(member, request("get", "Pod", "b")), "inside both the rule and the binding"
    assert not policy.allows(member, request("get", "Pod", "a")), "outside the binding"
    assert not policy.allows(member, request("get", "Pod", "c")), "outside the rule"
    assert not policy.allows(UserInfo("m"), request("get", "Pod", "b")), "not in the group"


def test_a_role_object_cannot_shadow_a_builtin_role() -> None:
    policy = Policy(
        {"viewer": (Rule(frozenset({"*"}), frozenset({"*"})),)}, [Binding("b", "viewer", users=frozenset({"u"}))]
    )
    assert not policy.allows(USER, request("delete", "Node"))
