"""The Service table and host-gw routes on a real kernel, in namespaces the test makes: a client
pod reaches a Service's endpoints on the same bridge (masqueraded) and on another host (not),
itself through its own Service (hairpin), a port without endpoints is refused at once, other
tables are never touched, a refused transaction changes nothing, and routes carry our protocol."""

from __future__ import annotations

import os
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network

import pytest

from agent.network.proxy.model import Endpoint, ServicePort
from agent.network.proxy.nft import Nft, NftError
from agent.network.proxy.ruleset import delete_transaction, render
from agent.network.routes import ROUTE_PROTOCOL, Route, RouteSyncer, RouteTable
from atoll.v1 import node_pb2
from tests.e2e.network_lab import Lab
from tests.support.system import require_binary

CLUSTER_IP = IPv4Address("10.96.0.10")


@pytest.fixture
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("network namespaces need root", pytrace=False)
        pytest.skip("network namespaces need root")
    require_binary("nft", "nftables")
    require_binary("ip", "iproute2")
    made = Lab()
    try:
        yield made
    finally:
        made.close()


def web(*backends: tuple[str, int], port: int = 80) -> ServicePort:
    return ServicePort("default", "web", "", "tcp", CLUSTER_IP, port,
                       tuple(Endpoint(IPv4Address(ip), p) for ip, p in backends))


def two_hosts(lab: Lab) -> tuple[str, str, str, str, str]:
    """Host A (pod CIDR 10.244.1.0/24: pods client .5 and near .6) and host B (10.244.2.0/24: pod
    far .7), joined by a veth on 192.168.50.0/24 with routes to each other's pod CIDR. Host A's
    bridge does not pass bridged frames through netfilter (no br_netfilter), the case where
    same-bridge Service traffic needs masquerading."""
    host_a, host_b = lab.netns("host-a"), lab.netns("host-b")
    lab.link(host_a, "192.168.50.1/24", host_b, "192.168.50.2/24")
    lab.bridge(host_a, "10.244.1.1/24")
    lab.bridge(host_b, "10.244.2.1/24")
    lab.exec(host_a, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0")
    client = lab.pod(host_a, "client", "10.244.1.5/24", "10.244.1.1")
    near = lab.pod(host_a, "near", "10.244.1.6/24", "10.244.1.1")
    far = lab.pod(host_b, "far", "10.244.2.7/24", "10.244.2.1")
    lab.ip(host_a, "route", "add", "10.244.2.0/24", "via", "192.168.50.2")
    lab.ip(host_b, "route", "add", "10.244.1.0/24", "via", "192.168.50.1")
    return host_a, host_b, client, near, far


async def test_a_pod_reaches_endpoints_on_its_bridge_and_on_another_host_through_the_cluster_ip(lab: Lab) -> None:
    host_a, _, client, near, far = two_hosts(lab)
    lab.serve(near, "near", 8080)
    lab.serve(far, "far", 9090)
    await Nft(("ip", "netns", "exec", host_a, "nft")).apply(
        render([web(("10.244.1.6", 8080), ("10.244.2.7", 9090))], IPv4Network("10.244.1.0/24")))
    answers = lab.connect(client, str(CLUSTER_IP), 80, count=40)
    assert set(answers) == {"near", "far"}, answers


async def test_a_pod_reaches_itself_through_its_own_service(lab: Lab) -> None:
    host_a, _, client, _, _ = two_hosts(lab)
    lab.serve(client, "myself", 8080)
    await Nft(("ip", "netns", "exec", host_a, "nft")).apply(
        render([web(("10.244.1.5", 8080))], IPv4Network("10.244.1.0/24")))
    assert lab.connect(client, str(CLUSTER_IP), 80, count=3) == ["myself"] * 3


async def test_a_port_without_endpoints_is_refused_at_once(lab: Lab) -> None:
    host_a, _, client, _, _ = two_hosts(lab)
    lab.ip(host_a, "route", "add", "10.96.0.0/16", "dev", "cni0")  # somewhere to forward to
    await Nft(("ip", "netns", "exec", host_a, "nft")).apply(render([web()], IPv4Network("10.244.1.0/24")))
    assert lab.connect(client, str(CLUSTER_IP), 80) == ["error:ConnectionRefusedError"]


async def test_only_atolls_table_changes_and_a_refused_transaction_changes_nothing(lab: Lab) -> None:
    host = lab.netns("host")
    nft = Nft(("ip", "netns", "exec", host, "nft"))
    lab.exec(host, "nft", "add table inet firewall; add chain inet firewall input { type filter hook input "
                          "priority 0; policy accept; }")
    first = render([web(("10.244.1.6", 8080))])
    await nft.apply(first)
    await nft.apply(render([web(("10.244.1.7", 8080))]))
    listed = await nft.list_table("ip", "atoll")
    assert "10.244.1.7:8080" in listed and "10.244.1.6" not in listed, "stale endpoint chains are gone"
    with pytest.raises(NftError, match="Error:"):
        await nft.apply(first.replace("numgen random", "numgen bogus"))
    assert await nft.list_table("ip", "atoll") == listed
    await nft.apply(delete_transaction())
    await nft.apply(delete_transaction())
    tables = lab.exec(host, "nft", "list", "tables")
    assert tables.split("\n")[0] == "table inet firewall" and "atoll" not in tables


async def test_routes_carry_our_protocol_and_a_sync_never_touches_anyone_elses(lab: Lab) -> None:
    host_a, host_b = lab.netns("host-a"), lab.netns("host-b")
    lab.link(host_a, "192.168.50.1/24", host_b, "192.168.50.2/24")
    lab.ip(host_a, "route", "add", "10.77.0.0/16", "via", "192.168.50.2", "proto", "static")
    table = RouteTable(("ip", "netns", "exec", host_a, "ip"))
    routes = RouteSyncer(table, "node-a")
    for name, cidr, address in (("node-b", "10.244.2.0/24", "192.168.50.2"), ("node-c", "10.244.3.0/24", "10.9.9.9")):
        peer = node_pb2.Node()
        peer.metadata.name = name
        peer.spec.pod_cidr = cidr
        peer.status.addresses.add(type="InternalIP", address=address)
        routes.update_node(peer)
    routes.mark_synced()
    await routes.sync()
    await routes.sync()
    assert await table.current() == {Route(IPv4Network("10.244.2.0/24"), IPv4Address("192.168.50.2"))}
    assert f"proto {ROUTE_PROTOCOL}" in lab.ip(host_a, "route", "show", "10.244.2.0/24")
    routes.remove_node("node-b")
    await routes.sync()
    assert await table.current() == set()
    assert "10.77.0.0/16 via 192.168.50.2 dev" in lab.ip(host_a, "route", "show"), "a static route stays"
