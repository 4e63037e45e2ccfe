"""What a Service's Endpoints should hold, from the workloads it selects: a pure function.

Rules (Kubernetes' endpoints controller, with VirtualMachines as peers of Pods):
- A workload counts when it is not being deleted, has an address (a Pod's ``status.podIP``, a
  VM's ``status.ip``) and, for a Pod, has not finished (Succeeded, Failed). Without an address it
  is skipped: nothing could reach it.
- Ready ones (``workloads.is_ready``) go in ``addresses``, the rest in ``notReadyAddresses``.
- Each Service port's targetPort is resolved per workload (atoll/service_ports.py): a number as
  is, a name through the Pod's container ports. A VM has no named ports, so a named targetPort
  does not reach it. A workload that resolves none of the ports is left out.
- Workloads whose resolved ports are the same share one subset. The output is sorted (subsets by
  ports, addresses by IP, then kind and name), so equal inputs give equal Endpoints and an
  unchanged Service is never written again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from atoll.cidrs import is_ip
from atoll.service_ports import resolve_target_port
from atoll.v1 import pod_pb2, service_pb2
from controller.controllers.workloads import Workload, is_ready

# (name, port, protocol) of each resolved Service port, in Service port order.
PortSet = tuple[tuple[str, int, str], ...]


@dataclass(frozen=True)
class Target:
    """One workload's endpoint: where it is, whether it is ready, which ports reach it."""

    address: service_pb2.EndpointAddress
    ready: bool
    ports: PortSet


def target_of(service: service_pb2.Service, obj: Workload) -> Target | None:
    """The endpoint ``obj`` gives ``service``, or None when it gives none (see the rules)."""
    if obj.metadata.HasField("deletion_timestamp"):
        return None
    if isinstance(obj, pod_pb2.Pod):
        if obj.status.phase in ("Succeeded", "Failed"):
            return None
        ip, kind, containers = obj.status.pod_ip, "Pod", list(obj.spec.containers)
    else:
        ip, kind, containers = obj.status.ip, "VirtualMachine", []
    if not is_ip(ip):
        return None
    ports = tuple(
        (port.name, resolved, port.protocol or "TCP")
        for port in service.spec.ports
        if (resolved := resolve_target_port(port.target_port, port.port, port.protocol or "TCP", containers))
    )
    if not ports:
        return None
    meta = obj.metadata
    address = service_pb2.EndpointAddress(
        ip=ip,
        node_name=obj.spec.node_name,
        target_ref=service_pb2.EndpointTargetReference(
            kind=kind, namespace=meta.namespace, name=meta.name, uid=meta.uid
        ),
    )
    return Target(address, is_ready(obj), ports)


def desired_subsets(service: service_pb2.Service, selected: Iterable[Workload]) -> list[service_pb2.EndpointSubset]:
    """The subsets of ``service``'s Endpoints given the workloads its selector matches."""
    grouped: dict[PortSet, tuple[list[service_pb2.EndpointAddress], list[service_pb2.EndpointAddress]]] = {}
    for obj in selected:
        target = target_of(service, obj)
        if target is None:
            continue
        ready, not_ready = grouped.setdefault(target.ports, ([], []))
        (ready if target.ready else not_ready).append(target.address)
    subsets = []
    for ports in sorted(grouped):
        ready, not_ready = grouped[ports]
        subsets.append(
            service_pb2.EndpointSubset(
                addresses=sorted(ready, key=_address_order),
                not_ready_addresses=sorted(not_ready, key=_address_order),
                ports=[service_pb2.EndpointPort(name=n, port=number, protocol=proto) for n, number, proto in ports],
            )
        )
    return subsets


def count_addresses(subsets: Iterable[service_pb2.EndpointSubset]) -> tuple[int, int]:
    """(ready, not ready) addresses over ``subsets``."""
    ready = not_ready = 0
    for subset in subsets:
        ready += len(subset.addresses)
        not_ready += len(subset.not_ready_addresses)
    return ready, not_ready


def selects(service: service_pb2.Service, labels: Mapping[str, str]) -> bool:
    """Whether ``service``'s selector (non-empty) matches ``labels``: every pair present."""
    selector = service.spec.selector
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _address_order(address: service_pb2.EndpointAddress) -> tuple[int, str, str]:
    return (int(ipaddress.ip_address(address.ip)), address.target_ref.kind, address.target_ref.name)
