"""The node authorizer: a node writes only its own Node (within atoll.node_restriction), its Lease and its
workloads' status; a fleet does the node writes for any node it simulates."""

from __future__ import annotations

from typing import Any

import pytest

from atoll import kinds, storage
from atoll.annotations import AGENT_ENDPOINT_ANNOTATION
from atoll.kinds import Kind
from atoll.v1 import node_pb2, storage_pb2
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.identity import UserInfo
from controller.apiserver.auth.node import NodeAuthorizer, NodeRestrictionError
from tests.support.objects import make_node, make_pod

STORED = {("Pod", "default", "mine"): "n1", ("Pod", "default", "theirs"): "n2", ("Pod", "default", "unbound"): ""}


def own_node(name: str = "n1", **labels: str) -> node_pb2.Node:
    node = make_node(name, **labels).node
    node.status.addresses.add(type="InternalIP", address="10.0.0.5")
    node.metadata.annotations[AGENT_ENDPOINT_ANNOTATION] = "10.0.0.5:10250"
    return node


def deleted_volume(name: str) -> storage_pb2.PersistentVolume:
    """A deleted local volume on the node its name ends with (gone-1 is on n1)."""
    volume = storage_pb2.PersistentVolume()
    volume.metadata.name = name
    volume.metadata.finalizers.append(storage.VOLUME_DATA_FINALIZER)
    volume.metadata.deletion_timestamp.seconds = 1
    volume.spec.local.path = name
    storage.pin_to_node(volume, f"n{name[-1]}")
    return volume


def released(name: str, label: str = "") -> storage_pb2.PersistentVolume:
    volume = deleted_volume(name)
    del volume.metadata.finalizers[:]
    if label:
        volume.metadata.labels["changed"] = label
    return volume


async def read(kind: Kind, namespace: str, name: str) -> Any | None:
    if kind.name == "PersistentVolume":
        return deleted_volume(name) if name.startswith("gone-") else None
    if kind.name == "Node":
        return own_node(name) if name in ("n1", "n2") else None
    if (kind.name, namespace, name) not in STORED:
        return None
    pod = make_pod(name).pod
    pod.spec.node_name = STORED[(kind.name, namespace, name)]
    return pod


def attrs(verb: str, kind: str, name: str = "", namespace: str = "", selector: str = "", obj: Any = None
          ) -> RequestAttributes:
    found = kinds.by_name(kind)
    return RequestAttributes(verb, found, namespace if found.namespaced else "", name, field_selector=selector, obj=obj)


def relabelled(name: str = "n1", **labels: str) -> node_pb2.Node:
    node = own_node(name)
    node.metadata.labels.update(labels)
    return node


def moved_endpoint(endpoint: str, name: str = "n1") -> node_pb2.Node:
    node = own_node(name)
    node.metadata.annotations[AGENT_ENDPOINT_ANNOTATION] = endpoint
    return node


def cordoned() -> node_pb2.Node:
    node = own_node()
    node.spec.unschedulable = True
    return node


CASES = [
    (attrs("create", "Node", "n1", obj=own_node()), True, "registers its own node"),
    (attrs("create", "Node", "n2", obj=own_node("n2")), False, "may not register another node"),
    (attrs("create", "Node", "n1"), False, "a create carrying no node is denied"),
    (attrs("update", "Node", "n1", obj=relabelled(zone="b")), True, "updates its own labels"),
    (attrs("update", "Node", "n1", obj=moved_endpoint("10.0.0.5:20000")), True, "moves its endpoint to a new port"),
    (attrs("update", "Node", "n2", obj=relabelled("n2", zone="b")), False, "may not update another node"),
    (attrs("update", "Node", "n3", obj=relabelled("n3")), False, "updating a node that does not exist is denied"),
    (attrs("updatestatus", "Node", "n1"), True, "writes its own node status"),
    (attrs("get", "Node", "n1"), True, "reads its own node"),
    (attrs("updatestatus", "Node", "n2"), False, "may not write another node's status"),
    (attrs("delete", "Node", "n1"), False, "may not delete its node"),
    (attrs("watch", "Node", selector="metadata.name=n1"), True, "watches its own node by name"),
    (attrs("watch", "Node"), True, "watches every node (host-gw routes to their pod CIDRs)"),
    (attrs("get", "Node", "n2"), True, "reads another node"),
    (attrs("watch", "Service"), True, "watches every Service (its Service proxy)"),
    (attrs("list", "Endpoints"), True, "lists every Endpoints (its Service proxy)"),
    (attrs("update", "Endpoints", "web"), False, "may not write Endpoints"),
    (attrs("create", "Service", "web"), False, "may not create a Service"),
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
    (attrs("get", "PersistentVolumeClaim", "data", "default"), True, "reads a volume claim"),
    (attrs("get", "PersistentVolume", "pv-1"), True, "reads a volume"),
    (attrs("update", "PersistentVolume", "pv-1"), False, "may not write a volume"),
    (attrs("update", "PersistentVolume", "gone-1", obj=released("gone-1")), True, "releases its deleted volume's data"),
    (attrs("update", "PersistentVolume", "gone-2", obj=released("gone-2")), False, "not another node's volume"),
    (attrs("update", "PersistentVolume", "gone-1", obj=released("gone-1", "x")), False, "and changes nothing else"),
    (attrs("watch", "PersistentVolume"), True, "watches volumes"),
    (attrs("list", "PersistentVolumeClaim"), False, "may not list claims"),
    (attrs("create", "PersistentVolumeClaim", "data", "default"), False, "may not make claims"),
]


@pytest.mark.parametrize(("request_attributes", "allowed"), [c[:2] for c in CASES], ids=[c[2] for c in CASES])
async def test_node_authorizer(request_attributes: RequestAttributes, allowed: bool) -> None:
    assert await NodeAuthorizer(read).allows("n1", request_attributes) is allowed


REFUSED = [
    (attrs("create", "Node", "n1", obj=relabelled(**{"node-role.kubernetes.io/control-plane": ""})), "node-role"),
    (attrs("update", "Node", "n1", obj=relabelled(**{"node-restriction.atoll.dev/gpu": "1"})), "node-restriction"),
    (attrs("update", "Node", "n1", obj=moved_endpoint("127.0.0.1:2379")), "not on one of the node's own addresses"),
    (attrs("update", "Node", "n1", obj=cordoned()), "spec"),
]
REFUSED_IDS = ["may not register with a role label", "may not give itself a restricted label",
               "may not point its endpoint off its own addresses", "may not write its own spec"]


@pytest.mark.parametrize(("request_attributes", "reason"), REFUSED, ids=REFUSED_IDS)
async def test_node_restriction_refusals_say_why(request_attributes: RequestAttributes, reason: str) -> None:
    with pytest.raises(NodeRestrictionError, match=reason):
        await NodeAuthorizer(read).allows("n1", request_attributes)


@pytest.mark.parametrize(("request_attributes", "reason"), REFUSED, ids=REFUSED_IDS)
async def test_a_fleet_is_held_to_the_same_restriction(request_attributes: RequestAttributes, reason: str) -> None:
    with pytest.raises(NodeRestrictionError, match=reason):
        await NodeAuthorizer(read).allows_fleet(request_attributes)


async def test_a_fleet_registers_and_updates_any_node_it_simulates() -> None:
    authorizer = NodeAuthorizer(read)
    assert await authorizer.allows_fleet(attrs("create", "Node", "n7", obj=own_node("n7")))
    assert await authorizer.allows_fleet(attrs("update", "Node", "n2", obj=moved_endpoint("10.0.0.5:1", "n2")))
    assert not await authorizer.allows_fleet(attrs("delete", "Node", "n2"))


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


def test_a_node_may_not_create_itself_with_a_pod_cidr() -> None:
    from atoll import node_restriction

    node = own_node()
    assert node_restriction.create_problem(node) is None
    node.spec.pod_cidr = "10.244.9.0/24"
    assert "spec.podCIDR" in str(node_restriction.create_problem(node))
