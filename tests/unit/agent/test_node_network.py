"""The node network's watch dispatch: every Node feeds the routes, this node's own pod CIDR feeds
the Service table's masquerade rules, and the table waits for every list it depends on."""

from __future__ import annotations

from ipaddress import IPv4Network

from agent.network.node_network import NodeNetwork, NodeNetworkConfig
from agent.network.routes import Route
from atoll.clock import ManualClock
from atoll.v1 import api_pb2, node_pb2
from atoll.watch_events import ADDED, DELETED


def event(type_: str, name: str, pod_cidr: str, address: str) -> api_pb2.WatchEvent:
    node = node_pb2.Node()
    node.metadata.name = name
    node.spec.pod_cidr = pod_cidr
    node.status.addresses.add(type="InternalIP", address=address)
    watched = api_pb2.WatchEvent(type=type_)
    watched.object.node.CopyFrom(node)
    return watched


def network() -> NodeNetwork:
    return NodeNetwork(None, "node-a", ManualClock(), NodeNetworkConfig())  # type: ignore[arg-type]


def test_every_node_feeds_the_routes_and_a_deleted_one_leaves_them() -> None:
    net = network()
    net.dispatch("Node", event(ADDED, "node-a", "10.244.1.0/24", "192.168.50.1"))
    net.dispatch("Node", event(ADDED, "node-b", "10.244.2.0/24", "192.168.50.2"))
    assert {str(route) for route in net.routes.wanted()} == {"10.244.2.0/24 via 192.168.50.2"}
    net.dispatch("Node", event(DELETED, "node-b", "10.244.2.0/24", "192.168.50.2"))
    assert net.routes.wanted() == set[Route]()


def test_the_own_pod_cidr_decides_which_endpoints_are_masqueraded() -> None:
    net = network()
    net.dispatch("Node", event(ADDED, "node-b", "10.244.2.0/24", "192.168.50.2"))
    assert net.proxier.pod_cidr is None
    net.dispatch("Node", event(ADDED, "node-a", "10.244.1.0/24", "192.168.50.1"))
    assert net.proxier.pod_cidr == IPv4Network("10.244.1.0/24")
    net.dispatch("Node", event(DELETED, "node-a", "10.244.1.0/24", "192.168.50.1"))
    assert net.proxier.pod_cidr is None


def test_changes_request_syncs_and_the_lists_unlock_them() -> None:
    net = network()
    net.dispatch("Node", event(ADDED, "node-b", "10.244.2.0/24", "192.168.50.2"))
    assert net.route_loop.requested
    assert not net.routes.synced and not net.proxier.synced
    net.synced("Node")
    assert net.routes.synced and net.proxier.synced
