"""``atoll expose``: the Service kubectl would build in front of a deployment, pod or service
(selector, ports; each kind's ``exposure``), and what it refuses to expose, in one line."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from atoll import kinds
from atoll.cli import builders
from atoll.cli.common import CliError
from atoll.cli.expose import ports_for, selector_of, target_of
from atoll.v1 import pod_pb2, scheduling_pb2, service_pb2
from tests.support.objects import make_node, make_pod, make_vm

DEPLOYMENT = kinds.by_name("Deployment")
POD = kinds.by_name("Pod")
SERVICE = kinds.by_name("Service")


def flags(**given: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = {"port": 0, "target_port": "", "protocol": "TCP", "target": "", "target_name": None}
    return argparse.Namespace(**{**defaults, **given})


def port(number: int, target: str, protocol: str = "TCP") -> service_pb2.ServicePort:
    return service_pb2.ServicePort(port=number, target_port=target, protocol=protocol)


def deployment(container_port: int = 8080) -> Any:
    return kinds.unwrap(builders.deployment("web", "default", ["nginx"], replicas=2, port=container_port))


def test_a_deployments_service_selects_its_match_labels_and_reuses_its_container_ports() -> None:
    web = deployment()
    web.spec.selector.match_labels["tier"] = "front"
    exposure = DEPLOYMENT.exposure(web)
    assert selector_of(exposure, "deployment/web") == {"app": "web", "tier": "front"}
    assert ports_for(flags(), exposure, "deployment/web") == [port(8080, "8080")]


def test_port_and_target_port_win_over_the_declared_ports() -> None:
    exposure = DEPLOYMENT.exposure(deployment())
    assert ports_for(flags(port=80, target_port="http"), exposure, "deployment/web") == [port(80, "http")]


def test_a_pods_labels_are_the_selector_and_each_distinct_port_is_used_once() -> None:
    pod = kinds.unwrap(make_pod("api", app="api", tier="back"))
    pod.spec.containers[0].ports.extend(
        [pod_pb2.ContainerPort(container_port=80), pod_pb2.ContainerPort(container_port=53, protocol="UDP")]
    )
    pod.spec.containers.add(name="side", image="x").ports.add(container_port=80)
    exposure = POD.exposure(pod)
    assert selector_of(exposure, "pod/api") == {"app": "api", "tier": "back"}
    assert ports_for(flags(), exposure, "pod/api") == [port(80, "80"), port(53, "53", "UDP")]


def test_a_service_is_exposed_with_its_selector_and_ports() -> None:
    service = kinds.unwrap(
        builders.service(
            "web", "default", [port(80, "http")], selector={"app": "web"}, labels={}, service_type="ClusterIP"
        )
    )
    exposure = SERVICE.exposure(service)
    assert (dict(exposure.selector), list(exposure.ports)) == ({"app": "web"}, [port(80, "http")])


def test_a_vms_labels_are_the_selector_and_it_declares_no_ports() -> None:
    vm = kinds.unwrap(make_vm("db"))
    vm.metadata.labels["app"] = "db"
    exposure = kinds.by_name("VirtualMachine").exposure(vm)
    assert exposure is not None and selector_of(exposure, "virtualmachine/db") == {"app": "db"}
    with pytest.raises(CliError, match="virtualmachine/db declares no ports; give --port"):
        ports_for(flags(), exposure, "virtualmachine/db")
    assert ports_for(flags(port=22), exposure, "virtualmachine/db") == [port(22, "")]


def test_kinds_without_workloads_to_select_cannot_be_exposed() -> None:
    assert kinds.by_name("Node").exposure(kinds.unwrap(make_node())) is None
    assert kinds.by_name("ConfigMap").exposure(kinds.by_name("ConfigMap").message()) is None


@pytest.mark.parametrize(
    ("change", "call", "expected"),
    [
        (
            lambda d: d.spec.selector.match_expressions.append(
                scheduling_pb2.LabelSelectorRequirement(key="app", operator="Exists")
            ),
            lambda e: selector_of(e, "deployment/web"),
            "matchExpressions, which a Service cannot select by; give --selector",
        ),
        (lambda d: d.spec.selector.Clear(), lambda e: selector_of(e, "deployment/web"), "no labels"),
        (lambda d: None, lambda e: ports_for(flags(target_port="80"), e, "deployment/web"), "needs --port"),
        (lambda d: None, lambda e: ports_for(flags(port=80, target_port="Bad_Name"), e, "d/web"), "port name"),
        (
            lambda d: d.spec.template.pod.spec.containers[0].ClearField("ports"),
            lambda e: ports_for(flags(), e, "deployment/web"),
            "declares no ports; give --port",
        ),
    ],
    ids=[
        "a selector with expressions",
        "a deployment without a selector",
        "a target port without a port",
        "a target port that is no port",
        "no port declared or given",
    ],
)
def test_what_cannot_be_exposed_is_one_line(change: Any, call: Any, expected: str) -> None:
    web = deployment()
    change(web)
    with pytest.raises(CliError, match=expected) as refused:
        call(DEPLOYMENT.exposure(web))
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("target", "name", "expected"),
    [
        ("deploy/web", None, ("Deployment", "web")),
        ("deployment", "web", ("Deployment", "web")),
        ("po/api", None, ("Pod", "api")),
        ("svc/web", None, ("Service", "web")),
        ("vm/db", None, ("VirtualMachine", "db")),
    ],
)
def test_targets(target: str, name: str | None, expected: tuple[str, str]) -> None:
    kind, found = target_of(flags(target=target, target_name=name))
    assert (kind.name, found) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("web", "give the object to expose as KIND/NAME"),
        ("deploy/", "is not a KIND/NAME or NAME to expose"),
        ("deploy,po", "one object at a time"),
    ],
)
def test_bad_targets(target: str, expected: str) -> None:
    with pytest.raises(CliError, match=expected):
        target_of(flags(target=target, target_name="web" if "," in target else None))
