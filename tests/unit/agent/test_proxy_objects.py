"""From a Service and its Endpoints to what the table programs: ports matched by name and
protocol, Ready addresses only, and whatever the IPv4 table cannot hold left out, not fatal."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from agent.network.proxy.model import Endpoint
from agent.network.proxy.objects import service_ports
from atoll.v1 import service_pb2


def make_service(**spec: object) -> service_pb2.Service:
    """A valid ClusterIP Service web with one TCP port 80 named http; tests change only what they test."""
    service = service_pb2.Service()
    service.metadata.namespace, service.metadata.name = "shop", "web"
    service.spec.cluster_ip = "10.96.0.10"
    service.spec.type = "ClusterIP"
    service.spec.ports.add(name="http", protocol="TCP", port=80, target_port="8080")
    for field, value in spec.items():
        if field == "ports":
            del service.spec.ports[:]
            for port in value:  # type: ignore[attr-defined]
                service.spec.ports.add(**port)
        else:
            setattr(service.spec, field, value)
    return service


def make_endpoints(*subsets: tuple[list[str], list[str], list[tuple[str, int, str]]]) -> service_pb2.Endpoints:
    """Subsets of (ready IPs, not-ready IPs, ports as (name, port, protocol))."""
    endpoints = service_pb2.Endpoints()
    endpoints.metadata.namespace, endpoints.metadata.name = "shop", "web"
    for ready, not_ready, ports in subsets:
        subset = endpoints.subsets.add()
        for ip in ready:
            subset.addresses.add(ip=ip)
        for ip in not_ready:
            subset.not_ready_addresses.add(ip=ip)
        for name, port, protocol in ports:
            subset.ports.add(name=name, port=port, protocol=protocol)
    return endpoints


def ep(ip: str, port: int = 8080) -> Endpoint:
    return Endpoint(IPv4Address(ip), port)


def test_ready_addresses_of_every_subset_at_their_resolved_port() -> None:
    endpoints = make_endpoints((["10.244.1.5"], ["10.244.1.9"], [("http", 8080, "TCP")]),
                               (["10.244.2.7"], [], [("http", 9090, "TCP")]))
    (port,) = service_ports(make_service(), endpoints)
    assert (port.namespace, port.service, port.port_name, port.protocol) == ("shop", "web", "http", "tcp")
    assert (port.cluster_ip, port.port) == (IPv4Address("10.96.0.10"), 80)
    assert port.endpoints == (ep("10.244.1.5"), ep("10.244.2.7", 9090))


def test_each_service_port_takes_the_endpoints_port_of_its_name_and_protocol() -> None:
    service = make_service(ports=[{"name": "http", "protocol": "TCP", "port": 80},
                                  {"name": "dns", "protocol": "UDP", "port": 53}])
    endpoints = make_endpoints((["10.244.1.5"], [], [("http", 8080, "TCP"), ("dns", 5353, "UDP"),
                                                     ("dns", 5300, "TCP")]))
    http, dns = service_ports(service, endpoints)
    assert http.endpoints == (ep("10.244.1.5", 8080),)
    assert (dns.protocol, dns.endpoints) == ("udp", (ep("10.244.1.5", 5353),))


def test_a_service_whose_endpoints_are_not_seen_yet_has_ports_without_endpoints() -> None:
    (port,) = service_ports(make_service(), None)
    assert port.endpoints == ()


@pytest.mark.parametrize(
    "service",
    [
        pytest.param(make_service(cluster_ip="None"), id="a headless Service has no virtual IP to program"),
        pytest.param(make_service(cluster_ip=""), id="a Service without an address yet"),
        pytest.param(make_service(cluster_ip="fd00::10"), id="an IPv6 cluster IP is not in the IPv4 table"),
        pytest.param(make_service(type="NodePort"), id="NodePort is not programmed yet"),
        pytest.param(make_service(ports=[{"name": "s", "protocol": "SCTP", "port": 80}]), id="SCTP"),
    ],
)
def test_what_the_ipv4_table_cannot_hold_is_left_out(service: service_pb2.Service) -> None:
    assert service_ports(service, make_endpoints((["10.244.1.5"], [], [("http", 8080, "TCP")]))) == ()


def test_addresses_and_ports_that_cannot_be_programmed_are_skipped_not_fatal() -> None:
    endpoints = make_endpoints((["fd00::5", "not-an-ip", "10.244.1.5"], [], [("http", 8080, "TCP")]),
                               (["10.244.1.6"], [], [("http", 0, "TCP")]))
    (port,) = service_ports(make_service(), endpoints)
    assert port.endpoints == (ep("10.244.1.5"),)
