# ruff: noqa: E501 - table rows hold exact messages and read best unbroken
"""validate() for Services and Endpoints: one row per rule, on the valid objects of
tests/unit/test_validation.py with one thing changed."""

from __future__ import annotations

from typing import Any

import pytest

from atoll.kinds import apply_defaults
from atoll.kinds import service as service_kind
from atoll.kinds.checks import validate_update
from atoll.service_ports import resolve_target_port, target_port_problem
from atoll.v1 import pod_pb2
from tests.unit.test_validation import DELETE, Case, make, parametrize_cases, reported

CASES: list[Case] = [
    (
        "Service",
        {"spec.ports[0].port": 70000},
        [("spec.ports[0].port", "must be between 1 and 65535, got 70000")],
        "a port above 65535",
    ),
    (
        "Service",
        {"spec.ports[0].port": 0},
        [("spec.ports[0].port", "must be between 1 and 65535, got 0")],
        "a port of zero",
    ),
    ("Service", {"spec.ports": []}, [("spec.ports", "at least one port is required")], "a Service without ports"),
    (
        "Service",
        {"spec.ports[1].name": "http"},
        [("spec.ports[1].name", 'duplicate port name "http"')],
        "two ports with one name",
    ),
    (
        "Service",
        {"spec.ports[1].name": DELETE},
        [("spec.ports[1].name", "required when the Service has more than one port")],
        "an unnamed port among several",
    ),
    (
        "Service",
        {"spec.ports[1].port": 80, "spec.ports[1].protocol": "TCP"},
        [("spec.ports[1].port", "duplicate port 80/TCP")],
        "one port number and protocol twice",
    ),
    (
        "Service",
        {"spec.ports[0].protocol": "SCTP"},
        [("spec.ports[0].protocol", 'unsupported value "SCTP": must be one of TCP, UDP')],
        "a protocol other than TCP and UDP",
    ),
    (
        "Service",
        {"spec.ports[0].targetPort": 99999},
        [("spec.ports[0].targetPort", "must be a port number between 1 and 65535 or a port name, got 99999")],
        "a target port number out of range",
    ),
    (
        "Service",
        {"spec.ports[0].targetPort": "Web_Port"},
        [
            (
                "spec.ports[0].targetPort",
                "not a port number, and not a valid port name: use lowercase letters, digits and single '-' inside, with at least one letter",
            )
        ],
        "a target port name that is no IANA name",
    ),
    (
        "Service",
        {"spec.ports[0].name": "a-very-long-port-name"},
        [
            (
                "spec.ports[0].name",
                'invalid port name "a-very-long-port-name": must be at most 15 characters',
            )
        ],
        "a port name over 15 characters",
    ),
    (
        "Service",
        {"spec.selector": {"app": "not a value"}},
        [
            (
                "spec.selector.app",
                "invalid label value \"not a value\": must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit",
            )
        ],
        "a selector value that is no label value",
    ),
    (
        "Service",
        {"spec.type": "LoadBalancer"},
        [("spec.type", 'unsupported value "LoadBalancer": must be one of ClusterIP')],
        "an unsupported type",
    ),
    (
        "Service",
        {"spec.clusterIP": "10.96.0.300"},
        [("spec.clusterIP", 'must be an IPv4 address or None (headless), got "10.96.0.300"')],
        "a cluster IP that is no address",
    ),
    (
        "Service",
        {"spec.clusterIP": "10.96.0.10", "spec.clusterIPs": ["10.96.0.11"]},
        [("spec.clusterIPs", "must start with clusterIP (only one address family is supported)")],
        "clusterIPs that disagree with clusterIP",
    ),
    (
        "Service",
        {"spec.ports[0].nodePort": 30080},
        [("spec.ports[0].nodePort", "only allowed with type NodePort, which is not supported yet")],
        "a node port on a ClusterIP Service",
    ),
    (
        "Service",
        {"metadata.name": "Web.Service"},
        [
            (
                "metadata.name",
                "invalid name \"Web.Service\": use lowercase letters, digits and '-', starting and ending with a letter or digit (DNS-1123 label)",
            )
        ],
        "a Service name that is no DNS label",
    ),
    (
        "Service",
        {"status.readyEndpoints": -1},
        [("status.readyEndpoints", "must not be negative, got -1")],
        "a negative endpoint count",
    ),
    (
        "Endpoints",
        {"subsets[0].addresses[0].ip": "10.244.1.5.3"},
        [("subsets[0].addresses[0].ip", 'must be an IP address, got "10.244.1.5.3"')],
        "an endpoint address that is no IP address",
    ),
    (
        "Endpoints",
        {"subsets[0].addresses[0].targetRef.kind": "Deployment"},
        [
            (
                "subsets[0].addresses[0].targetRef.kind",
                'unsupported value "Deployment": must be one of Pod, VirtualMachine',
            )
        ],
        "an endpoint that is neither a pod nor a VM",
    ),
    (
        "Endpoints",
        {"subsets[0].ports[0].port": 0},
        [("subsets[0].ports[0].port", "must be between 1 and 65535, got 0")],
        "an endpoint port of zero",
    ),
    (
        "Endpoints",
        {"subsets[0].ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]},
        [("subsets[0].ports[1].name", 'duplicate port name "a"')],
        "two endpoint ports with one name",
    ),
]


@parametrize_cases(CASES)
def test_validate_reports_exactly_the_expected_errors(
    name: str, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert reported(name, changes) == expected


def test_defaults_fill_type_affinity_protocol_and_target_port() -> None:
    obj = make("Service", {"spec.ports[0].targetPort": DELETE})
    apply_defaults(obj)
    spec = obj.service.spec
    assert (spec.type, spec.session_affinity) == ("ClusterIP", "None")
    assert (spec.ports[0].protocol, spec.ports[0].target_port) == ("TCP", "80")
    assert spec.ports[1].target_port == "5353"


def _with_cluster_ip(ip: str) -> Any:
    obj = make("Service", {"spec.clusterIP": ip} if ip else {})
    apply_defaults(obj)
    return obj


def test_the_cluster_ip_may_not_change() -> None:
    errors = validate_update(_with_cluster_ip("10.96.0.10"), _with_cluster_ip("10.96.0.11"))
    assert [(e.path, e.message) for e in errors] == [
        ("spec.clusterIP", "may not change (it is 10.96.0.10); delete and recreate the Service")
    ]


def test_an_update_without_a_cluster_ip_keeps_the_allocated_one() -> None:
    old, new = _with_cluster_ip("10.96.0.10").service, _with_cluster_ip("").service
    service_kind.KIND.keep_on_update(old, new)
    assert (new.spec.cluster_ip, list(new.spec.cluster_ips)) == ("10.96.0.10", ["10.96.0.10"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("8080", None),
        ("", None),
        ("http", None),
        ("99999999999", "must be a port number between 1 and 65535 or a port name, got 99999999"),
        ("0", "must be a port number between 1 and 65535 or a port name, got 0"),
    ],
    ids=["digits are a number", "empty means the port", "letters are a name", "a huge number", "zero"],
)
def test_target_port_problem(text: str, problem: str | None) -> None:
    assert target_port_problem(text) == problem


def test_a_named_target_port_resolves_by_name_and_protocol() -> None:
    container = pod_pb2.Container(
        name="web",
        ports=[
            pod_pb2.ContainerPort(name="http", container_port=8080, protocol="UDP"),
            pod_pb2.ContainerPort(name="http", container_port=8081),
        ],
    )
    assert resolve_target_port("http", 80, "TCP", [container]) == 8081
    assert resolve_target_port("http", 80, "UDP", [container]) == 8080
    assert resolve_target_port("metrics", 80, "TCP", [container]) == 0
    assert resolve_target_port("", 80, "TCP", [container]) == 80
    assert resolve_target_port("9000", 80, "TCP", [container]) == 9000
