"""The node network's watch dispatch: every Node feeds the routes, this node's own pod CIDR feeds
the Service table's masquerade rules, and the table waits for every list it depends on."""

from __future__ import annotations

from ipaddress import IPv4Network

from agent.network.node_network import NodeNetwork, NodeNetworkConfig
from agent.network.routes import Route
from atoll.clock import ManualClock
from atoll.v1 import api_pb2, node_pb2, service_pb2
from atoll.watch_events import ADDED, DELETED, MODIFIED


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
    assert net.routes.synced and not net.proxier.synced, "routes need only the Nodes"
    net.synced("Service")
    net.synced("Endpoints")
    assert net.proxier.synced


def service_event(type_: str, *ready: str) -> api_pb2.WatchEvent:
    service = service_pb2.Service()
    service.metadata.namespace, service.metadata.name = "shop", "web"
    service.spec.cluster_ip = "10.96.0.10"
    service.spec.ports.add(name="http", protocol="TCP", port=80)
    watched = api_pb2.WatchEvent(type=type_)
    watched.object.service.CopyFrom(service)
    return watched


def endpoints_event(type_: str, *ready: str) -> api_pb2.WatchEvent:
    endpoints = service_pb2.Endpoints()
    endpoints.metadata.namespace, endpoints.metadata.name = "shop", "web"
    subset = endpoints.subsets.add()
    for ip in ready:
        subset.addresses.add(ip=ip)
    subset.ports.add(name="http", port=8080, protocol="TCP")
    watched = api_pb2.WatchEvent(type=type_)
    watched.object.endpoints.CopyFrom(endpoints)
    return watched


def programmed(net: NodeNetwork) -> list[str]:
    return [line.strip() for line in net.proxier.ruleset().splitlines() if "dnat to" in line or "reject-chain," in line]


def test_a_service_is_programmed_from_its_own_object_and_its_endpoints_in_any_order() -> None:
    net = network()
    net.dispatch("Endpoints", endpoints_event(ADDED, "10.244.1.5"))
    assert programmed(net) == [], "Endpoints without their Service program nothing"
    net.dispatch("Service", service_event(ADDED))
    assert programmed(net) == ["meta l4proto tcp dnat to 10.244.1.5:8080"]
    net.dispatch("Endpoints", endpoints_event(MODIFIED, "10.244.1.5", "10.244.2.7"))
    assert len(programmed(net)) == 2
    net.dispatch("Endpoints", endpoints_event(DELETED))
    assert programmed(net) == ["10.96.0.10 . tcp . 80 : goto reject-chain,"]
    net.dispatch("Service", service_event(DELETED))
    assert programmed(net) == []
