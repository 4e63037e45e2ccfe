"""What a Service put in front of an object selects, and the ports the object declares: the
per-kind answer ``atoll expose`` asks for (``KindStrategy.exposure``), as kubectl's
MapBasedSelectorForObject and PortsForObject answer it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from atoll.v1 import pod_pb2, service_pb2


@dataclass(frozen=True)
class Exposure:
    """``selector``: the labels that reach the object's pods; ``ports``: those it declares (port,
    target port, protocol; unnamed); ``problem``: why no Service can select it ("" when one can)."""

    selector: Mapping[str, str]
    ports: tuple[service_pb2.ServicePort, ...] = ()
    problem: str = ""


def container_ports(containers: Iterable[pod_pb2.Container]) -> tuple[service_pb2.ServicePort, ...]:
    """One Service port per distinct container port and protocol, in order, leading to itself."""
    seen: dict[tuple[int, str], service_pb2.ServicePort] = {}
    for container in containers:
        for declared in container.ports:
            protocol = declared.protocol or "TCP"
            number = declared.container_port
            seen.setdefault(
                (number, protocol),
                service_pb2.ServicePort(port=number, target_port=str(number), protocol=protocol),
            )
    return tuple(seen.values())
