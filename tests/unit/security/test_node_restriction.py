"""atoll.node_restriction: what a node may write about its own Node (labels, agent endpoint, nothing else)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from atoll import node_restriction
from atoll.annotations import AGENT_ENDPOINT_ANNOTATION
from atoll.v1 import node_pb2
from tests.support.objects import make_node

ENDPOINT = AGENT_ENDPOINT_ANNOTATION


def registered(address: str = "10.0.0.5", **labels: str) -> node_pb2.Node:
    """A Node as its agent registered it: an InternalIP and its name as Hostname, an endpoint on the first."""
    node = make_node("n1", **labels).node
    node.status.addresses.add(type="InternalIP", address=address)
    node.status.addresses.add(type="Hostname", address="n1")
    node.metadata.annotations[ENDPOINT] = f"{address}:10250"
    node.metadata.resource_version = 7
    return node


@pytest.mark.parametrize(
    ("key", "restricted"),
    [
        ("node-role.kubernetes.io/control-plane", True),
        ("node-role.atoll.dev/worker", True),
        ("node-restriction.kubernetes.io/dedicated", True),
        ("node-restriction.atoll.dev/pci", True),
        ("atoll.dev/os", False),
        ("zone", False),
        ("node-role", False),
        ("example.com/node-role.x", False),
    ],
    ids=lambda value: str(value),
)
def test_restricted_label_prefixes(key: str, restricted: bool) -> None:
    assert node_restriction.restricted_label(key) is restricted


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("10.0.0.5:10250", True),
        ("n1:10250", True),
        ("[fd00::5]:10250", True),
        ("10.0.0.6:10250", False),
        ("127.0.0.1:2379", False),
        ("10.0.0.5", False),
        ("10.0.0.5:http", False),
    ],
    ids=["its InternalIP", "its Hostname", "its IPv6 address in brackets", "another host", "the API server's loopback",
         "no port", "a port that is not a number"],
)
def test_endpoint_must_be_on_the_nodes_own_addresses(endpoint: str, allowed: bool) -> None:
    problem = node_restriction.endpoint_problem(endpoint, ["10.0.0.5", "n1", "fd00::5"])
    assert (problem is None) is allowed, problem


def test_create_refuses_restricted_labels_and_a_foreign_endpoint() -> None:
    assert node_restriction.create_problem(registered()) is None
    problem = node_restriction.create_problem(registered(**{"node-role.kubernetes.io/control-plane": ""}))
    assert problem is not None and "node-role.kubernetes.io/control-plane" in problem
    foreign = registered()
    foreign.metadata.annotations[ENDPOINT] = "192.0.2.1:22"
    assert "not on one of the node's own addresses" in (node_restriction.create_problem(foreign) or "")


def _set_label(node: node_pb2.Node) -> None:
    node.metadata.labels["zone"] = "b"


def _remove_label(node: node_pb2.Node) -> None:
    del node.metadata.labels["zone"]


def _move_endpoint_port(node: node_pb2.Node) -> None:
    node.metadata.annotations[ENDPOINT] = "10.0.0.5:20000"


def _endpoint_elsewhere(node: node_pb2.Node) -> None:
    node.metadata.annotations[ENDPOINT] = "10.9.9.9:10250"


def _claim_role(node: node_pb2.Node) -> None:
    node.metadata.labels["node-role.kubernetes.io/control-plane"] = ""


def _drop_role(node: node_pb2.Node) -> None:
    del node.metadata.labels["node-role.atoll.dev/gpu"]


def _other_annotation(node: node_pb2.Node) -> None:
    node.metadata.annotations["example.com/owner"] = "me"


def _uncordon(node: node_pb2.Node) -> None:
    node.spec.unschedulable = False


def _drop_taint(node: node_pb2.Node) -> None:
    del node.spec.taints[:]


def _drop_finalizer(node: node_pb2.Node) -> None:
    del node.metadata.finalizers[:]


def _new_revision(node: node_pb2.Node) -> None:
    node.metadata.resource_version = 8


UPDATES: list[tuple[Callable[[node_pb2.Node], None], str | None]] = [
    (_set_label, None),
    (_remove_label, None),
    (_move_endpoint_port, None),
    (_new_revision, None),
    (_endpoint_elsewhere, "not on one of the node's own addresses"),
    (_claim_role, "node-role.kubernetes.io/control-plane"),
    (_drop_role, "node-role.atoll.dev/gpu"),
    (_other_annotation, "example.com/owner"),
    (_uncordon, "spec"),
    (_drop_taint, "spec"),
    (_drop_finalizer, "only the labels and the agent endpoint"),
]


@pytest.mark.parametrize(("change", "refusal"), UPDATES, ids=[change.__name__.strip("_") for change, _ in UPDATES])
def test_what_an_update_by_the_node_may_change(change: Callable[[node_pb2.Node], None], refusal: str | None) -> None:
    stored = registered(**{"node-role.atoll.dev/gpu": "true", "zone": "a"})
    stored.spec.unschedulable = True
    stored.spec.taints.add(key="dedicated", value="vms", effect="NoSchedule")
    stored.metadata.finalizers.append("example.com/keep")
    wanted = node_pb2.Node()
    wanted.CopyFrom(stored)
    change(wanted)
    problem = node_restriction.update_problem(stored, wanted)
    if refusal is None:
        assert problem is None
    else:
        assert problem is not None and refusal in problem
