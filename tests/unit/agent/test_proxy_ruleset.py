"""The Service table renderer: ServicePorts -> one nft transaction replacing ``table ip atoll``,
equal text for equal inputs, masquerade only where replies would bypass the DNAT."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network

import pytest

from agent.network.proxy.model import Endpoint, ServicePort
from agent.network.proxy.ruleset import delete_transaction, endpoint_chain, render, service_chain

POD_CIDR = IPv4Network("10.244.1.0/24")


def endpoint(ip: str, port: int = 8080) -> Endpoint:
    return Endpoint(IPv4Address(ip), port)


def service_port(name: str = "web", *endpoints: Endpoint, **changes: object) -> ServicePort:
    """A valid ServicePort; tests change only the field they test."""
    fields: dict[str, object] = {"namespace": "default", "service": name, "port_name": "http", "protocol": "tcp",
                                 "cluster_ip": IPv4Address("10.96.0.10"), "port": 80, "endpoints": endpoints}
    fields.update(changes)
    return ServicePort(**fields)  # type: ignore[arg-type]


def chain_body(text: str, chain: str) -> list[str]:
    match = re.search(rf"\tchain {re.escape(chain)} {{\n(.*?)\n\t}}", text, re.S)
    assert match, f"no chain {chain}"
    return [line.strip() for line in match.group(1).splitlines()]


def test_the_transaction_replaces_atolls_table_and_nothing_else() -> None:
    text = render([service_port("web", endpoint("10.244.1.5"))], POD_CIDR)
    lines = text.splitlines()
    assert lines[:3] == ["table ip atoll", "delete table ip atoll", "table ip atoll {"]
    assert lines[-1] == "}"
    assert [line for line in lines if line.startswith(("table", "delete", "flush", "add"))] == lines[:3]


def test_equal_inputs_render_equal_text_whatever_their_order() -> None:
    a = service_port("a", endpoint("10.244.1.5"), endpoint("10.244.2.9"), cluster_ip=IPv4Address("10.96.0.1"))
    b = service_port("b", endpoint("10.244.3.3"), cluster_ip=IPv4Address("10.96.0.2"))
    shuffled = service_port("a", endpoint("10.244.2.9"), endpoint("10.244.1.5"), endpoint("10.244.1.5"),
                            cluster_ip=IPv4Address("10.96.0.1"))
    assert render([a, b], POD_CIDR) == render([b, shuffled], POD_CIDR)


def test_a_service_port_balances_over_its_endpoints_at_random() -> None:
    port = service_port("web", endpoint("10.244.1.5"), endpoint("10.244.2.7", 9090))
    text = render([port], POD_CIDR)
    assert f"10.96.0.10 . tcp . 80 : goto {service_chain(port)}," in text
    assert chain_body(text, service_chain(port)) == [
        f"numgen random mod 2 vmap {{ 0 : goto {endpoint_chain(port, 0)}, 1 : goto {endpoint_chain(port, 1)} }}"
    ]
    assert chain_body(text, endpoint_chain(port, 1))[-1] == "meta l4proto tcp dnat to 10.244.2.7:9090"


@pytest.mark.parametrize(
    ("pod_cidr", "backend", "masquerade_from"),
    [
        pytest.param(POD_CIDR, "10.244.1.5", "10.244.1.0/24",
                     id="an endpoint on this node's bridge masquerades connections from the bridge's pods"),
        pytest.param(POD_CIDR, "10.244.2.7", None,
                     id="an endpoint on another node keeps the client's source address"),
        pytest.param(None, "10.244.2.7", "10.244.2.7",
                     id="without a known pod CIDR only the hairpin case is masqueraded"),
    ],
)
def test_masquerade_only_where_replies_would_bypass_the_dnat(
        pod_cidr: IPv4Network | None, backend: str, masquerade_from: str | None) -> None:
    port = service_port("web", endpoint(backend))
    body = chain_body(render([port], pod_cidr), endpoint_chain(port, 0))
    expected = [f"ip saddr {masquerade_from} jump mark-for-masquerade"] if masquerade_from else []
    assert body == [*expected, f"meta l4proto tcp dnat to {backend}:8080"]


def test_a_port_without_endpoints_rejects_instead_of_timing_out() -> None:
    text = render([service_port("empty", protocol="udp", port=53)], POD_CIDR)
    assert "10.96.0.10 . udp . 53 : goto reject-chain," in text
    assert "service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t}" in text
    assert "svc-" not in text


def test_two_services_claiming_one_address_keep_the_first_by_name() -> None:
    first = service_port("aaa", endpoint("10.244.1.5"))
    second = service_port("zzz", endpoint("10.244.1.6"))
    text = render([second, first], POD_CIDR)
    assert service_chain(first) in text
    assert service_chain(second) not in text


def test_chain_names_are_bounded_and_only_use_characters_nft_accepts() -> None:
    port = service_port("web", endpoint("10.244.1.5"), namespace="n" * 63, service="s" * 63, port_name="p" * 15)
    hostile = service_port("web", endpoint("10.244.1.5"), port_name='x"; flush ruleset; #')
    for name in (service_chain(port), endpoint_chain(port, 0), service_chain(hostile)):
        assert re.fullmatch(r"[a-z]+-[A-Z2-7]{8}-[A-Za-z0-9/._-]+", name), name
        assert len(name) <= 200
    assert service_chain(hostile) != service_chain(service_port("web", port_name="x___flush_ruleset__"))


def test_the_delete_transaction_succeeds_whether_or_not_the_table_exists() -> None:
    assert delete_transaction() == "table ip atoll\ndelete table ip atoll\n"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"protocol": "sctp"}, "protocol must be one of tcp, udp",
                     id="a protocol the table cannot program"),
        pytest.param({"port": 0}, "service port must be within 1-65535", id="port zero"),
    ],
)
def test_a_service_port_the_table_cannot_program_is_refused_when_built(changes: dict[str, object],
                                                                         message: str) -> None:
    with pytest.raises(ValueError, match=message):
        service_port("web", **changes)


def test_an_endpoint_port_out_of_range_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="endpoint port must be within 1-65535, got 70000"):
        Endpoint(IPv4Address("10.0.0.1"), 70000)
