"""host-gw routes: one route per other node's pod CIDR via its address, only ours (by protocol)
ever deleted, nodes off the local segment skipped with one log line, a restart converging to
exactly the wanted set, nothing written before the Node list is complete."""

from __future__ import annotations

import logging
from ipaddress import IPv4Address, IPv4Network

import pytest

from agent.network.routes import Links, Route, RouteError, RouteSyncer, RouteTable, desired_routes
from atoll.v1 import node_pb2

OWN = "node-a"


def node(name: str, pod_cidr: str = "", address: str = "") -> node_pb2.Node:
    message = node_pb2.Node()
    message.metadata.name = name
    message.spec.pod_cidr = pod_cidr
    message.status.addresses.add(type="Hostname", address=name)
    if address:
        message.status.addresses.add(type="InternalIP", address=address)
    return message


def route(cidr: str, via: str) -> Route:
    return Route(IPv4Network(cidr), IPv4Address(via))


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        pytest.param([node(OWN, "10.244.0.0/24", "192.168.7.1"), node("node-b", "10.244.1.0/24", "192.168.7.2")],
                     {route("10.244.1.0/24", "192.168.7.2")}, id="a route to every other node, none to itself"),
        pytest.param([node("node-b", "", "192.168.7.2")], set(), id="a node without a pod CIDR yet gets none"),
        pytest.param([node("node-b", "10.244.1.0/24")], set(), id="a node without an address gets none"),
        pytest.param([node("node-b", "fd00::/64", "192.168.7.2"), node("node-c", "10.244.2.0/24", "fd00::2")], set(),
                     id="IPv6 ranges and addresses are not routed by the IPv4 table"),
        pytest.param([node("node-z", "10.244.1.0/24", "192.168.7.9"), node("node-b", "10.244.1.0/24", "192.168.7.2")],
                     {route("10.244.1.0/24", "192.168.7.2")}, id="a CIDR claimed twice goes to the first by name"),
        pytest.param([node(OWN, "10.244.0.0/16"), node("node-b", "10.244.1.0/24", "192.168.7.2")], set(),
                     id="a CIDR overlapping this node's own is never routed away"),
    ],
)
def test_desired_routes(nodes: list[node_pb2.Node], expected: set[Route]) -> None:
    assert desired_routes(nodes, OWN) == expected


class FakeTable(RouteTable):
    """The kernel's routes of our protocol in memory; ``refuse`` makes changes to a route fail."""

    def __init__(self, routes: set[Route] | None = None) -> None:
        super().__init__(("ip",))
        self.routes = set(routes or ())
        self.refuse: set[Route] = set()
        self.calls: list[str] = []
        self.view = Links(frozenset({IPv4Address("192.168.7.1")}), frozenset({IPv4Network("192.168.7.0/24")}))

    async def links(self) -> Links:
        return self.view

    async def current(self) -> set[Route]:
        return set(self.routes)

    async def replace(self, route: Route) -> None:
        self._check(route, "replace")
        self.routes = {r for r in self.routes if r.destination != route.destination} | {route}

    async def delete(self, route: Route) -> None:
        self._check(route, "delete")
        self.routes.discard(route)

    def _check(self, route: Route, verb: str) -> None:
        self.calls.append(f"{verb} {route}")
        if route in self.refuse:
            raise RouteError("Error: Nexthop has invalid gateway.")


def syncer(table: FakeTable, *nodes: node_pb2.Node) -> RouteSyncer:
    routes = RouteSyncer(table, OWN)
    for each in nodes:
        routes.update_node(each)
    routes.mark_synced()
    return routes


async def test_nothing_is_written_before_the_node_list_is_complete() -> None:
    table = FakeTable({route("10.244.9.0/24", "192.168.7.9")})
    routes = RouteSyncer(table, OWN)
    routes.update_node(node("node-b", "10.244.1.0/24", "192.168.7.2"))
    await routes.sync()
    assert table.calls == []


async def test_a_restart_converges_to_exactly_the_wanted_routes() -> None:
    table = FakeTable({route("10.244.9.0/24", "192.168.7.9"),  # a node deleted while the agent was down
                       route("10.244.1.0/24", "192.168.7.99"),  # node-b moved
                       route("10.244.2.0/24", "192.168.7.3")})  # unchanged: not touched
    await syncer(table, node("node-b", "10.244.1.0/24", "192.168.7.2"),
                 node("node-c", "10.244.2.0/24", "192.168.7.3")).sync()
    assert table.routes == {route("10.244.1.0/24", "192.168.7.2"), route("10.244.2.0/24", "192.168.7.3")}
    assert not [call for call in table.calls if "10.244.2.0" in call]


async def test_a_node_that_goes_takes_its_route_with_it() -> None:
    table = FakeTable()
    routes = syncer(table, node("node-b", "10.244.1.0/24", "192.168.7.2"))
    await routes.sync()
    routes.remove_node("node-b")
    await routes.sync()
    assert table.routes == set()


@pytest.mark.parametrize(
    "address",
    [pytest.param("10.9.9.9", id="a node off the local segment"),
     pytest.param("192.168.7.1", id="a node on one of this host's own addresses (a hollow fleet's)")],
)
async def test_unreachable_nodes_get_no_route_and_one_log_line(address: str, caplog: pytest.LogCaptureFixture) -> None:
    table = FakeTable()
    routes = syncer(table, node("node-b", "10.244.1.0/24", address))
    with caplog.at_level(logging.INFO, logger="agent.network.routes"):
        for _ in range(3):
            await routes.sync()
    assert table.calls == []
    assert len([r for r in caplog.records if "not on a directly connected network" in r.message]) == 1


async def test_a_refused_route_is_logged_once_and_the_others_are_still_written(
        caplog: pytest.LogCaptureFixture) -> None:
    table = FakeTable()
    bad = route("10.244.1.0/24", "192.168.7.2")
    table.refuse.add(bad)
    routes = syncer(table, node("node-b", "10.244.1.0/24", "192.168.7.2"),
                    node("node-c", "10.244.2.0/24", "192.168.7.3"))
    for _ in range(2):
        await routes.sync()
    assert table.routes == {route("10.244.2.0/24", "192.168.7.3")}
    assert len([r for r in caplog.records if "Nexthop has invalid gateway" in r.message]) == 1
    table.refuse.clear()
    await routes.sync()
    assert bad in table.routes
