"""Validation of probes (container and VM), Kubernetes' rules.

Exactly one handler; numbers not negative (0 means "the default" until defaulting fills it);
liveness and startup probes need successThreshold 1; readiness probes take no
terminationGracePeriodSeconds; a port is 1-65535 or, for containers, the name of one of the
container's ports; VMs have no exec (nothing runs commands in a guest) and no port names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from atoll.manifest_codec import describe
from atoll.named_ports import port_name_problem, port_number
from atoll.probes import SCHEMES
from atoll.v1 import pod_pb2, probe_pb2
from atoll.validation.base import FieldError, check_at_least, check_one_of

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)


def validate_probe(
    probe: probe_pb2.Probe,
    kind: str,
    path: str,
    errors: list[FieldError],
    *,
    container_ports: Sequence[pod_pb2.ContainerPort] | None,
) -> None:
    """``kind`` is startup, liveness or readiness. ``container_ports``: the ports of the container
    the probe belongs to; None for a VM's probe (TCP/HTTP with a port number only)."""
    handler = probe.WhichOneof("handler")
    if handler is None:
        errors.append(FieldError(path, "must set exactly one of exec, tcpSocket or httpGet"))
    elif handler == "exec":
        if container_ports is None:
            errors.append(FieldError(f"{path}.exec", "not supported for virtual machines: use tcpSocket or httpGet"))
        elif not probe.exec.command:
            errors.append(FieldError(f"{path}.exec.command", "required (the command to run in the container)"))
    elif handler == "tcp_socket":
        _check_port(probe.tcp_socket.port, f"{path}.tcpSocket.port", container_ports, errors)
    else:
        _validate_http_get(probe.http_get, f"{path}.httpGet", container_ports, errors)
    for name, value in (
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("periodSeconds", probe.period_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ):
        check_at_least(value, 0, f"{path}.{name}", errors)
    if kind != "readiness" and probe.success_threshold > 1:
        errors.append(FieldError(f"{path}.successThreshold", f"must be 1 for a {kind} probe"))
    if probe.HasField("termination_grace_period_seconds"):
        if kind == "readiness":
            errors.append(FieldError(f"{path}.terminationGracePeriodSeconds", "not allowed on a readiness probe"))
        else:
            check_at_least(probe.termination_grace_period_seconds, 1, f"{path}.terminationGracePeriodSeconds", errors)


def _validate_http_get(
    action: probe_pb2.HTTPGetAction,
    path: str,
    container_ports: Sequence[pod_pb2.ContainerPort] | None,
    errors: list[FieldError],
) -> None:
    _check_port(action.port, f"{path}.port", container_ports, errors)
    if action.path and (not action.path.startswith("/") or any(c in action.path for c in "\r\n \t")):
        problem = f"must start with '/' and hold no spaces, got {describe(action.path)}"
        errors.append(FieldError(f"{path}.path", problem))
    check_one_of(action.scheme, SCHEMES, f"{path}.scheme", errors)
    for index, header in enumerate(action.http_headers):
        if not _HEADER_NAME.match(header.name):
            errors.append(FieldError(f"{path}.httpHeaders[{index}].name",
                                     f"invalid HTTP header name {describe(header.name)}"))
        if any(c in header.value for c in "\r\n\0"):
            errors.append(FieldError(f"{path}.httpHeaders[{index}].value", "must not contain line breaks"))


def _check_port(
    port: str, path: str, container_ports: Sequence[pod_pb2.ContainerPort] | None, errors: list[FieldError]
) -> None:
    if not port:
        errors.append(FieldError(path, "required (a number 1-65535 or the name of a container port)"))
        return
    number = port_number(port)
    if number is not None:
        if not 1 <= number <= 65535:
            errors.append(FieldError(path, f"must be between 1 and 65535, got {number}"))
        return
    if container_ports is None:
        errors.append(FieldError(path, f"must be a port number for a virtual machine, got {describe(port)}"))
        return
    problem = port_name_problem(port)
    if problem:
        errors.append(FieldError(path, f"invalid port name {describe(port)}: {problem}"))
    elif not any(p.name == port for p in container_ports):
        errors.append(FieldError(path, f"names no port of this container: {describe(port)}"))
