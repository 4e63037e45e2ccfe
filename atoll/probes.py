"""Probes, the one rule every component shares: Kubernetes' defaults and how a probe's port is named.

A probe's ``port`` is an IntOrString: a number (``"8080"``) or the name of one of the
container's ``ports`` (``"http"``). Validation (atoll/validation/probe.py) refuses a name that
names no port; the agent resolves the name when it probes (``resolve_port``). Port names and
numbers follow atoll/named_ports.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from atoll.named_ports import port_number
from atoll.v1 import pod_pb2, probe_pb2, virtualmachine_pb2

PERIOD_SECONDS = 10
TIMEOUT_SECONDS = 1
SUCCESS_THRESHOLD = 1
FAILURE_THRESHOLD = 3
HTTP_PATH = "/"
HTTP_SCHEME = "HTTP"
SCHEMES = ("HTTP", "HTTPS")


def default_probe(probe: probe_pb2.Probe) -> None:
    """Fill Kubernetes' defaults in place (period 10 s, timeout 1 s, success 1, failure 3, HTTP
    path ``/`` and scheme HTTP); idempotent."""
    if not probe.period_seconds:
        probe.period_seconds = PERIOD_SECONDS
    if not probe.timeout_seconds:
        probe.timeout_seconds = TIMEOUT_SECONDS
    if not probe.success_threshold:
        probe.success_threshold = SUCCESS_THRESHOLD
    if not probe.failure_threshold:
        probe.failure_threshold = FAILURE_THRESHOLD
    if probe.HasField("http_get"):
        if not probe.http_get.path:
            probe.http_get.path = HTTP_PATH
        if not probe.http_get.scheme:
            probe.http_get.scheme = HTTP_SCHEME


def container_probes(container: pod_pb2.Container) -> list[tuple[str, probe_pb2.Probe]]:
    """The probes a container sets, as (``startup``/``liveness``/``readiness``, probe)."""
    probes = (
        ("startup", container.HasField("startup_probe"), container.startup_probe),
        ("liveness", container.HasField("liveness_probe"), container.liveness_probe),
        ("readiness", container.HasField("readiness_probe"), container.readiness_probe),
    )
    return [(kind, probe) for kind, present, probe in probes if present]


def vm_probes(spec: virtualmachine_pb2.VirtualMachineSpec) -> list[tuple[str, probe_pb2.Probe]]:
    """The probes a VM sets, as (``liveness``/``readiness``, probe)."""
    probes = (
        ("liveness", spec.HasField("liveness_probe"), spec.liveness_probe),
        ("readiness", spec.HasField("readiness_probe"), spec.readiness_probe),
    )
    return [(kind, probe) for kind, present, probe in probes if present]


def resolve_port(port: str, ports: Iterable[pod_pb2.ContainerPort]) -> int | None:
    """The port number ``port`` means for a container with ``ports``: the number itself, or the
    containerPort of the port of that name; None when a name matches none."""
    number = port_number(port)
    if number is not None:
        return number
    return next((p.container_port for p in ports if p.name and p.name == port), None)
