"""A Service port's targetPort: a port number or the name of a container port (Kubernetes'
IntOrString, with atoll/named_ports.py's rules), and how it resolves on a pod.

One home for the rule: validation checks it, the endpoints controller resolves a name against a
pod's container ports (by name and protocol, as Kubernetes' FindPort), node programming reads
the resolved numbers from Endpoints.
"""

from __future__ import annotations

from collections.abc import Iterable

from atoll.named_ports import port_name_problem, port_number
from atoll.v1 import pod_pb2


def target_port_problem(text: str) -> str | None:
    """Why ``text`` is neither a port number 1-65535 nor a port name, or None (empty is fine:
    the default is the Service port)."""
    if not text:
        return None
    number = port_number(text)
    if number is not None:
        in_range = 1 <= number <= 65535
        return None if in_range else f"must be a port number between 1 and 65535 or a port name, got {text[:8]}"
    problem = port_name_problem(text)
    return f"not a port number, and not a valid port name: {problem}" if problem else None


def resolve_target_port(target_port: str, port: int, protocol: str, containers: Iterable[pod_pb2.Container]) -> int:
    """The number a Service port reaches on a pod: the number itself, ``port`` when empty, or the
    first container port of that name and protocol; 0 when the pod has no such named port."""
    if not target_port:
        return port
    number = port_number(target_port)
    if number is not None:
        return number
    for container in containers:
        for container_port in container.ports:
            if container_port.name == target_port and (container_port.protocol or "TCP") == protocol:
                return int(container_port.container_port)
    return 0
