"""NodePorts: hostPorts are a node resource (kube-scheduler's NodePorts filter)."""

from __future__ import annotations

import pytest

from scheduler.core import Placement, Unschedulable
from scheduler.workload import HostPort
from tests.unit.scheduler.builders import make_node, make_pod
from tests.unit.scheduler.harness import Harness


def two_nodes() -> Harness:
    return Harness(make_node("n1").cpu("8"), make_node("n2").cpu("8"))


def test_two_pods_with_one_host_port_never_share_a_node() -> None:
    harness = two_nodes()
    first = harness.place(make_pod("a").host_port(8080))
    second = harness.place(make_pod("b").host_port(8080))
    third = harness.place(make_pod("c").host_port(8080))
    assert isinstance(first, Placement) and isinstance(second, Placement)
    assert first.node != second.node
    assert isinstance(third, Unschedulable)
    assert third.message == "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."


def test_a_bound_pod_holds_its_port_and_frees_it_when_removed() -> None:
    harness = Harness(make_node("n1").cpu("8"))
    harness.bind(make_pod("old").host_port(80), "n1")
    assert not harness.decide(make_pod("new").host_port(80)).placed
    harness.snapshot.remove_workload("Pod/default/old")
    assert harness.decide(make_pod("new").host_port(80)).node == "n1"


def test_a_pod_updated_in_place_does_not_conflict_with_itself() -> None:
    harness = Harness(make_node("n1").cpu("8"))
    harness.bind(make_pod("web").host_port(80), "n1")
    assert harness.decide(make_pod("web").host_port(80)).node == "n1"


@pytest.mark.parametrize(
    ("mine", "theirs", "conflict"),
    [
        (HostPort(80, "TCP", ""), HostPort(80, "TCP", ""), True),
        (HostPort(80, "TCP", ""), HostPort(80, "UDP", ""), False),
        (HostPort(80, "TCP", ""), HostPort(81, "TCP", ""), False),
        (HostPort(80, "TCP", "10.0.0.1"), HostPort(80, "TCP", "10.0.0.2"), False),
        (HostPort(80, "TCP", "10.0.0.1"), HostPort(80, "TCP", "10.0.0.1"), True),
        (HostPort(80, "TCP", "10.0.0.1"), HostPort(80, "TCP", "0.0.0.0"), True),
        (HostPort(80, "TCP", ""), HostPort(80, "TCP", "10.0.0.1"), True),
    ],
    ids=[
        "same port and protocol on every address conflict",
        "tcp and udp on one port do not conflict",
        "different ports do not conflict",
        "different host addresses do not conflict",
        "one host address twice conflicts",
        "an address and 0.0.0.0 conflict",
        "every address and one address conflict",
    ],
)
def test_conflict_rule(mine: HostPort, theirs: HostPort, conflict: bool) -> None:
    assert mine.conflicts(theirs) is conflict
    assert theirs.conflicts(mine) is conflict


def test_ports_of_every_container_count() -> None:
    harness = Harness(make_node("n1").cpu("8"))
    bound = make_pod("old").host_port(80)
    bound.pod.spec.containers.add(name="side", image="x").ports.add(container_port=9090, host_port=9090, protocol="TCP")
    harness.bind(bound, "n1")
    assert not harness.decide(make_pod("new").host_port(9090)).placed
    assert harness.decide(make_pod("new").host_port(9091)).placed


def test_pods_without_host_ports_are_not_affected() -> None:
    harness = Harness(make_node("n1").cpu("8"))
    harness.bind(make_pod("old").host_port(80), "n1")
    assert harness.decide(make_pod("plain")).node == "n1"
