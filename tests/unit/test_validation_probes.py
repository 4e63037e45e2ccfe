# ruff: noqa: E501 - table rows hold exact messages and read best unbroken
"""validate() for probes (containers and VMs), container port names and hostPorts, and the
probe defaults. Rows start from the valid objects of tests/unit/test_validation.py."""

from __future__ import annotations

from atoll.kinds import apply_defaults, unwrap
from tests.unit.test_validation import Case, make, parametrize_cases, reported

HTTP = {"httpGet": {"port": 8080}}
CASES: list[Case] = [
    ("Pod", {"spec.containers[0].readinessProbe": HTTP}, [], "an httpGet readiness probe with a port number is valid"),
    ("Pod", {"spec.containers[0].ports": [{"name": "http", "containerPort": 80}], "spec.containers[0].livenessProbe": {"tcpSocket": {"port": "http"}}}, [], "a tcpSocket probe naming a container port is valid"),
    ("Pod", {"spec.containers[0].startupProbe": {"exec": {"command": ["cat", "/ready"]}, "failureThreshold": 30}}, [], "an exec startup probe is valid"),
    ("Pod", {"spec.containers[0].readinessProbe": {"periodSeconds": 5}}, [("spec.containers[0].readinessProbe", "must set exactly one of exec, tcpSocket or httpGet")], "a probe without a handler"),
    ("Pod", {"spec.containers[0].readinessProbe": {"exec": {}}}, [("spec.containers[0].readinessProbe.exec.command", "required (the command to run in the container)")], "an exec probe without a command"),
    ("Pod", {"spec.containers[0].livenessProbe": {"httpGet": {"port": 70000}}}, [("spec.containers[0].livenessProbe.httpGet.port", "must be between 1 and 65535, got 70000")], "a probe port out of range"),
    ("Pod", {"spec.containers[0].livenessProbe": {"tcpSocket": {"port": "metrics"}}}, [("spec.containers[0].livenessProbe.tcpSocket.port", 'names no port of this container: "metrics"')], "a probe naming a port the container does not have"),
    ("Pod", {"spec.containers[0].livenessProbe": {"tcpSocket": {}}}, [("spec.containers[0].livenessProbe.tcpSocket.port", "required (a number 1-65535 or the name of a container port)")], "a tcpSocket probe without a port"),
    ("Pod", {"spec.containers[0].livenessProbe": {"tcpSocket": {"port": "Web_Port"}}}, [("spec.containers[0].livenessProbe.tcpSocket.port", "invalid port name \"Web_Port\": use lowercase letters, digits and single '-' inside, with at least one letter")], "a probe port name with capitals"),
    ("Pod", {"spec.containers[0].livenessProbe": {**HTTP, "successThreshold": 2}}, [("spec.containers[0].livenessProbe.successThreshold", "must be 1 for a liveness probe")], "a liveness probe needing two successes"),
    ("Pod", {"spec.containers[0].readinessProbe": {**HTTP, "successThreshold": 2}}, [], "a readiness probe may need two successes"),
    ("Pod", {"spec.containers[0].readinessProbe": {**HTTP, "periodSeconds": -1, "timeoutSeconds": -2}}, [("spec.containers[0].readinessProbe.periodSeconds", "must not be negative, got -1"), ("spec.containers[0].readinessProbe.timeoutSeconds", "must not be negative, got -2")], "negative period and timeout"),
    ("Pod", {"spec.containers[0].readinessProbe": {**HTTP, "terminationGracePeriodSeconds": 5}}, [("spec.containers[0].readinessProbe.terminationGracePeriodSeconds", "not allowed on a readiness probe")], "a grace period on a readiness probe"),
    ("Pod", {"spec.containers[0].livenessProbe": {**HTTP, "terminationGracePeriodSeconds": 0}}, [("spec.containers[0].livenessProbe.terminationGracePeriodSeconds", "must be at least 1, got 0")], "a zero grace period on a liveness probe"),
    ("Pod", {"spec.containers[0].readinessProbe": {"httpGet": {"port": 80, "path": "health", "scheme": "FTP"}}}, [("spec.containers[0].readinessProbe.httpGet.path", "must start with '/' and hold no spaces, got \"health\""), ("spec.containers[0].readinessProbe.httpGet.scheme", 'unsupported value "FTP": must be one of HTTP, HTTPS')], "an http path without a slash and an unknown scheme"),
    ("Pod", {"spec.containers[0].readinessProbe": {"httpGet": {"port": 80, "httpHeaders": [{"name": "X Bad", "value": "a\r\nb"}]}}}, [("spec.containers[0].readinessProbe.httpGet.httpHeaders[0].name", 'invalid HTTP header name "X Bad"'), ("spec.containers[0].readinessProbe.httpGet.httpHeaders[0].value", "must not contain line breaks")], "a header name with a space and a value with a line break"),
    ("VirtualMachine", {"spec.readinessProbe": {"tcpSocket": {"port": 22}}, "spec.livenessProbe": {"httpGet": {"port": 80}}}, [], "a VM with tcp readiness and http liveness probes is valid"),
    ("VirtualMachine", {"spec.readinessProbe": {"exec": {"command": ["true"]}}}, [("spec.readinessProbe.exec", "not supported for virtual machines: use tcpSocket or httpGet")], "a VM exec probe"),
    ("VirtualMachine", {"spec.livenessProbe": {"tcpSocket": {"port": "ssh"}}}, [("spec.livenessProbe.tcpSocket.port", 'must be a port number for a virtual machine, got "ssh"')], "a VM probe naming a port"),
    # container ports and hostPorts
    ("Pod", {"spec.containers[0].ports": [{"name": "web", "containerPort": 80}, {"name": "web", "containerPort": 81}]}, [("spec.containers[0].ports[1].name", 'duplicate port name "web"')], "a duplicate port name in one container"),
    ("Pod", {"spec.containers[0].ports": [{"name": "a-very-long-port-name", "containerPort": 80}]}, [("spec.containers[0].ports[0].name", 'invalid port name "a-very-long-port-name": must be at most 15 characters')], "a port name over 15 characters"),
    ("Pod", {"spec.containers[0].ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 8080}]}, [("spec.containers[0].ports[1].hostPort", "duplicate hostPort 8080/TCP in this pod")], "one hostPort twice in one container"),
    ("Pod", {"spec.containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]}, {"name": "b", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}, [("spec.containers[1].ports[0].hostPort", "duplicate hostPort 8080/TCP in this pod")], "one hostPort in two containers"),
    ("Pod", {"spec.containers[0].ports": [{"containerPort": 53, "hostPort": 53, "protocol": "UDP"}, {"containerPort": 53, "hostPort": 53}]}, [], "one hostPort over UDP and TCP is valid"),
    ("Pod", {"spec.containers[0].ports": [{"containerPort": 80, "hostPort": 70000}]}, [("spec.containers[0].ports[0].hostPort", "must be between 1 and 65535, got 70000")], "a hostPort out of range"),
    ("Pod", {"spec.containers[0].ports": [{"containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.300"}]}, [("spec.containers[0].ports[0].hostIP", 'not an IP address: "10.0.0.300"')], "a hostIP that is not an address"),
    ("Pod", {"spec.containers[0].ports": [{"containerPort": 80, "hostIP": "10.0.0.3"}]}, [("spec.containers[0].ports[0].hostIP", "only allowed with a hostPort")], "a hostIP without a hostPort"),
    ("Pod", {"spec.hostNetwork": True, "spec.containers[0].ports": [{"containerPort": 80, "hostPort": 8080}]}, [("spec.containers[0].ports[0].hostPort", "must equal containerPort (80) with hostNetwork")], "a hostPort unlike the containerPort on the host network"),
    ("Deployment", {"spec.template.pod.spec.containers[0].readinessProbe": {"exec": {}}}, [("spec.template.pod.spec.containers[0].readinessProbe.exec.command", "required (the command to run in the container)")], "a Deployment template's probe is validated too"),
]


@parametrize_cases(CASES)
def test_probe_and_port_rules(name: str, changes: dict[str, object], expected: list[tuple[str, str]]) -> None:
    assert reported(name, changes) == expected


def test_probe_defaults_are_kubernetes_values_and_idempotent() -> None:
    obj = make("Pod", {"spec.containers[0].readinessProbe": {"httpGet": {"port": 8080}, "periodSeconds": 3}})
    apply_defaults(obj)
    probe = unwrap(obj).spec.containers[0].readiness_probe
    assert (probe.period_seconds, probe.timeout_seconds, probe.success_threshold, probe.failure_threshold) == (3, 1, 1, 3)
    assert (probe.http_get.path, probe.http_get.scheme, probe.http_get.port) == ("/", "HTTP", "8080")
    before = obj.SerializeToString()
    apply_defaults(obj)
    assert obj.SerializeToString() == before


def test_vm_probe_defaults() -> None:
    obj = make("VirtualMachine", {"spec.livenessProbe": {"tcpSocket": {"port": 22}}})
    apply_defaults(obj)
    probe = unwrap(obj).spec.liveness_probe
    assert (probe.period_seconds, probe.failure_threshold, probe.tcp_socket.port) == (10, 3, "22")
