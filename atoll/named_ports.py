"""Ports written as a number or as the name of a container port (Kubernetes' IntOrString ports):
the one rule for port names and for telling a number from a name, shared by probes
(atoll/probes.py), Service target ports (atoll/service_ports.py) and container port validation.
"""

from __future__ import annotations

import re

# IANA service name, as Kubernetes names container ports: at most 15 characters, lowercase
# letters, digits and single '-' inside, at least one letter.
PORT_NAME_MAX = 15
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*$")


def port_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid port name (IANA service name), or None."""
    if len(name) > PORT_NAME_MAX:
        return f"must be at most {PORT_NAME_MAX} characters"
    if not _PORT_NAME.match(name) or not any(c.isalpha() for c in name):
        return "use lowercase letters, digits and single '-' inside, with at least one letter"
    return None


def port_number(port: str) -> int | None:
    """``port`` as a number when it is written as one (1-65535 is checked by the caller), else None."""
    return int(port) if port.isascii() and port.isdigit() else None
