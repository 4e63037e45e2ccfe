"""The node authorizer: a node writes only its own Node status and Lease and its workloads' status."""

from __future__ import annotations

from typing import Any

import pytest

from atoll import kinds
from atoll.kinds import Kind
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.identity import UserInfo
from controller.apiserver.auth.node import NodeAuthorizer
from tests.support.objects import make_pod

STORED = {("Pod", "default", "mine"): "n1", ("Pod", "default", "theirs"): "n2", ("Pod", "default", "unbound"): ""}


async def read(kind: Kind, namespace: str, name: str) -> Any | None:
    if (kind.name, namespace, name) not in STORED:
        return None
    pod = make_pod(name).pod
    pod.spec.node_name = STORED[(kind.name, namespace, name)]
    return pod


def attrs(verb: str, kind: str, name: str = "", namespace: str = "", selector: str = "") -> RequestAttributes:
    found = kinds.by_name(kind)
    return RequestAttributes(verb, found, namespace if found.namespaced else "", name, field_selector=selector)


CASES = [
    (attrs("create", "Node", "n1"), True, "registers its own node"),
    (attrs("updatestatus", "Node", "n1"), True, "writes its own node status"),
    (attrs("get", "Node", "n1"), True, "reads its own node"),
    (attrs("updatestatus", "Node", "n2"), False, "may not write another node's status"),
    (attrs("update", "Node", "n1"), False, "may not write its own node spec"),
    (attrs("delete", "Node", "n1"), False, "may not delete its node"),
    (attrs("watch", "Node", selector="metadata.name=n1"), True, "watches its own node by name"),
    (attrs("watch", "Node"), False, "may not watch every node"),
    (attrs("update", "Lease", "n1", "atoll-node-lease"), True, "renews its own lease"),
    (attrs("update", "Lease", "n2", "atoll-node-lease"), False, "may not renew another node's lease"),
    (attrs("update", "Lease", "n1", "default"), False, "may not write a lease elsewhere"),
    (attrs("get", "Pod", "mine", "default"), True, "reads a pod bound to it"),
    (attrs("updatestatus", "Pod", "mine", "default"), True, "writes the status of a pod bound to it"),
    (attrs("updatestatus", "Pod", "theirs", "default"), False, "may not write a pod bound elsewhere"),
    (attrs("get", "Pod", "unbound", "default"), False, "may not read an unbound pod"),
    (attrs("get", "Pod", "ghost", "default"), False, "a missing pod is denied, not revealed"),
    (attrs("update", "Pod", "mine", "default"), False, "may not write a pod's spec"),
    (attrs("delete", "Pod", "mine", "default"), False, "may not delete pods"),
    (attrs("watch", "Pod", selector="spec.nodeName=n1"), True, "watches the pods bound to it"),
    (attrs("watch", "VirtualMachine", selector="spec.nodeName==n1,status.phase!=Failed"), True, "narrower is fine"),
    (attrs("list", "Pod", selector="spec.nodeName!=n1"), False, "a negated selector is not its pods"),
    (attrs("list", "Pod", selector="spec.nodeName=n2"), False, "may not list another node's pods"),
    (attrs("list", "Pod", selector="bogus"), False, "a broken selector is denied"),
    (attrs("list", "Namespace"), True, "reads namespaces"),
    (attrs("create", "Event", "e", "default"), True, "records events"),
    (attrs("delete", "Event", "e", "default"), False, "may not delete events"),
    (attrs("create", "Deployment", "d", "default"), False, "may not touch deployments"),
    (attrs("get", "RoleBinding", "b"), False, "may not read bindings"),
]


@pytest.mark.parametrize(("request_attributes", "allowed"), [c[:2] for c in CASES], ids=[c[2] for c in CASES])
async def test_node_authorizer(request_attributes: RequestAttributes, allowed: bool) -> None:
    assert await NodeAuthorizer(read).allows("n1", request_attributes) is allowed


@pytest.mark.parametrize(
    ("user", "node"),
    [
        (UserInfo("system:node:n1", frozenset({"system:nodes"})), "n1"),
        (UserInfo("system:node:n1"), None),
        (UserInfo("mallory", frozenset({"system:nodes"})), None),
        (UserInfo("system:node:", frozenset({"system:nodes"})), None),
    ],
    ids=[
        "a node user in the nodes group is a node",
        "the node user name without the group is not",
        "the group without the node user name is not",
        "an empty node name is not",
    ],
)
def test_node_identity(user: UserInfo, node: str | None) -> None:
    assert user.node_name == node
