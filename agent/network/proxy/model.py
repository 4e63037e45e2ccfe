"""What a node's Service proxy programs: each port of each Service with its cluster IP and the
addresses behind it, already checked and typed, so the renderer can trust every field.

One ``ServicePort`` is kube-proxy's ``ServicePortName`` with its endpoints: a Service with two
ports is two ServicePorts. Building them from API objects (and dropping what cannot be
programmed, such as an IPv6 address in the IPv4 table) is ``objects.py``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

PROTOCOLS = ("tcp", "udp")  # what the table programs; nft's own protocol names


@dataclass(frozen=True, order=True)
class Endpoint:
    """One backend: an address and the port it listens on (the Service port's targetPort as the
    Endpoints object resolved it)."""

    ip: IPv4Address
    port: int

    def __post_init__(self) -> None:
        _check_port(self.port, "endpoint port")

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service: traffic to ``cluster_ip``:``port`` over ``protocol`` goes to one of
    ``endpoints``, chosen at random per connection. ``port_name`` may be empty (a Service with one
    unnamed port). Endpoints are kept sorted so that equal inputs render equal text."""

    namespace: str
    service: str
    port_name: str
    protocol: str
    cluster_ip: IPv4Address
    port: int
    endpoints: tuple[Endpoint, ...] = ()

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        _check_port(self.port, "service port")
        object.__setattr__(self, "endpoints", tuple(sorted(set(self.endpoints))))

    @property
    def key(self) -> tuple[IPv4Address, str, int]:
        """What the table matches on: destination address, protocol, destination port."""
        return (self.cluster_ip, self.protocol, self.port)

    @property
    def display_name(self) -> str:
        """``namespace/service:port`` as kube-proxy logs a service port (the port's name, else its number)."""
        return f"{self.namespace}/{self.service}:{self.port_name or self.port}"


def _check_port(port: int, what: str) -> None:
    if not 1 <= port <= 65535:
        raise ValueError(f"{what} must be within 1-65535, got {port}")
