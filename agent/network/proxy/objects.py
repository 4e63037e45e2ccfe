"""From API objects to what the proxy programs: a Service and its Endpoints -> ServicePorts.

Kubernetes' rules, as kube-proxy applies them: a Service port is matched with the Endpoints
ports of the same name (and protocol); every Ready address of a subset carrying that port is an
endpoint at the subset's resolved port; not-ready addresses are never programmed. What the IPv4
table cannot hold is left out rather than failing the whole table: a headless Service (no
cluster IP), an IPv6 address, a protocol other than TCP/UDP, a port out of range.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address

from agent.network.proxy.model import PROTOCOLS, Endpoint, ServicePort
from atoll.v1 import service_pb2

CLUSTER_IP_TYPES = ("", "ClusterIP")  # NodePort is not programmed yet


def service_ports(service: service_pb2.Service, endpoints: service_pb2.Endpoints | None) -> tuple[ServicePort, ...]:
    """The ServicePorts ``service`` asks for, with the Ready addresses of ``endpoints`` (None: not seen yet)."""
    cluster_ip = _ipv4(service.spec.cluster_ip)
    if cluster_ip is None or service.spec.type not in CLUSTER_IP_TYPES:
        return ()
    ports = []
    for port in service.spec.ports:
        protocol = (port.protocol or "TCP").lower()
        if protocol not in PROTOCOLS or not 1 <= port.port <= 65535:
            continue
        backends = _endpoints_of(endpoints, port.name, protocol) if endpoints is not None else ()
        ports.append(ServicePort(service.metadata.namespace, service.metadata.name, port.name, protocol,
                                 cluster_ip, port.port, backends))
    return tuple(ports)


def _endpoints_of(endpoints: service_pb2.Endpoints, name: str, protocol: str) -> tuple[Endpoint, ...]:
    found = []
    for subset in endpoints.subsets:
        for port in subset.ports:
            if port.name != name or (port.protocol or "TCP").lower() != protocol or not 1 <= port.port <= 65535:
                continue
            for address in subset.addresses:
                ip = _ipv4(address.ip)
                if ip is not None:
                    found.append(Endpoint(ip, port.port))
    return tuple(found)


def _ipv4(text: str) -> IPv4Address | None:
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, IPv4Address) else None
