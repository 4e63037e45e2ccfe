"""A Service port's targetPort: a port number or the name of a container port (Kubernetes'
IntOrString), and the rule for port names (IANA service names, as Kubernetes checks them).

One home for the rule: validation checks it, the endpoints controller resolves a name against a
pod's container ports, node programming reads the resolved numbers from Endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from atoll.v1 import pod_pb2

PORT_NAME_MAX = 15
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_DIGITS = re.compile(r"^[0-9]+$")


def port_name_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA service name (at most 15 lowercase letters, digits and '-',
    at least one letter, no '--', not starting or ending with '-'), or None."""
    if len(name) > PORT_NAME_MAX:
        return f"must be at most {PORT_NAME_MAX} characters (IANA service name)"
    if not _PORT_NAME.match(name) or "--" in name or not any(c.isalpha() for c in name):
        return "use lowercase letters, digits and single '-' between them, with at least one letter (IANA service name)"
    return None


def parse_target_port(text: str) -> int | str:
    """``text`` as a port number when it is all digits, else as a port name (unchecked: see
    ``target_port_problem``). Empty gives 0 ("same as port")."""
    if not text:
        return 0
    if _DIGITS.match(text):
        return int(text[:6]) if len(text) <= 6 else 65536  # a huge number is out of range, never a name
    return text


def target_port_problem(text: str) -> str | None:
    """Why ``text`` is neither a port number 1-65535 nor a port name, or None (empty is fine)."""
    target = parse_target_port(text)
    if isinstance(target, int):
        if text and not 1 <= target <= 65535:
            return f"must be a port number between 1 and 65535 or a port name, got {text[:8]}"
        return None
    problem = port_name_problem(target)
    return f"not a port number, and not a valid port name: {problem}" if problem else None


def resolve_target_port(target_port: str, port: int, protocol: str, containers: Iterable[pod_pb2.Container]) -> int:
    """The number a Service port reaches on a pod: the number itself, ``port`` when empty, or the
    first container port of that name and protocol; 0 when the pod has no such named port."""
    target = parse_target_port(target_port)
    if isinstance(target, int):
        return target or port
    for container in containers:
        for container_port in container.ports:
            if container_port.name == target and (container_port.protocol or "TCP") == protocol:
                return int(container_port.container_port)
    return 0
