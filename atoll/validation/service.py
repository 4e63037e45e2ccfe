"""Validation of Services (selector, ports, type, cluster IP) and Endpoints (addresses, ports).

Whether a cluster IP is inside the service CIDR and free is the API server's allocator's
question (it knows the flag and the store); here only its form is checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from atoll.cidrs import is_ip
from atoll.manifest_codec import describe
from atoll.named_ports import port_name_problem
from atoll.service_ports import target_port_problem
from atoll.v1 import service_pb2
from atoll.validation.base import FieldError, check_at_least, check_name, check_one_of, check_port
from atoll.validation.meta import validate_conditions, validate_labels

SERVICE_TYPES = ("ClusterIP",)
SERVICE_PROTOCOLS = ("TCP", "UDP")
SESSION_AFFINITIES = ("None", "ClientIP")
HEADLESS = "None"
ENDPOINT_TARGET_KINDS = ("Pod", "VirtualMachine")


def validate_service_spec(spec: service_pb2.ServiceSpec, path: str, errors: list[FieldError]) -> None:
    """Selector as labels, at least one port, ports 1-65535 with unique names (required when more
    than one) and unique port/protocol pairs, type, session affinity and the cluster IP's form."""
    validate_labels(spec.selector, f"{path}.selector", errors)
    check_one_of(spec.type, SERVICE_TYPES, f"{path}.type", errors)
    check_one_of(spec.session_affinity, SESSION_AFFINITIES, f"{path}.sessionAffinity", errors)
    _validate_ports(spec.ports, f"{path}.ports", errors)
    _validate_cluster_ips(spec, path, errors)


def _validate_ports(ports: Sequence[service_pb2.ServicePort], path: str, errors: list[FieldError]) -> None:
    if not ports:
        errors.append(FieldError(path, "at least one port is required"))
    names: set[str] = set()
    pairs: set[tuple[int, str]] = set()
    for index, port in enumerate(ports):
        port_path = f"{path}[{index}]"
        if port.name:
            _check_port_name(port.name, names, f"{port_path}.name", errors)
        elif len(ports) > 1:
            errors.append(FieldError(f"{port_path}.name", "required when the Service has more than one port"))
        check_port(port.port, f"{port_path}.port", errors, required=True)
        check_one_of(port.protocol, SERVICE_PROTOCOLS, f"{port_path}.protocol", errors)
        pair = (port.port, port.protocol or "TCP")
        if pair in pairs:
            errors.append(FieldError(f"{port_path}.port", f"duplicate port {port.port}/{pair[1]}"))
        pairs.add(pair)
        problem = target_port_problem(port.target_port)
        if problem:
            errors.append(FieldError(f"{port_path}.targetPort", problem))
        if port.node_port:
            message = "only allowed with type NodePort, which is not supported yet"
            errors.append(FieldError(f"{port_path}.nodePort", message))


def _validate_cluster_ips(spec: service_pb2.ServiceSpec, path: str, errors: list[FieldError]) -> None:
    if spec.cluster_ip and spec.cluster_ip != HEADLESS and not is_ip(spec.cluster_ip, v4_only=True):
        message = f"must be an IPv4 address or None (headless), got {describe(spec.cluster_ip)}"
        errors.append(FieldError(f"{path}.clusterIP", message))
    one_family = "(only one address family is supported)"
    if spec.cluster_ips and spec.cluster_ips[0] != spec.cluster_ip:
        errors.append(FieldError(f"{path}.clusterIPs", f"must start with clusterIP {one_family}"))
    if len(spec.cluster_ips) > 1:
        errors.append(FieldError(f"{path}.clusterIPs", f"at most one address {one_family}"))


def validate_service_status(status: service_pb2.ServiceStatus, path: str, errors: list[FieldError]) -> None:
    check_at_least(status.ready_endpoints, 0, f"{path}.readyEndpoints", errors)
    check_at_least(status.not_ready_endpoints, 0, f"{path}.notReadyEndpoints", errors)
    validate_conditions(status.conditions, f"{path}.conditions", errors)


def validate_endpoints(endpoints: service_pb2.Endpoints, errors: list[FieldError]) -> None:
    """Every address an IP address with a Pod or VirtualMachine target (when given), every port
    1-65535 with a valid name and protocol, port names unique within a subset."""
    for index, subset in enumerate(endpoints.subsets):
        subset_path = f"subsets[{index}]"
        for field, addresses in (("addresses", subset.addresses), ("notReadyAddresses", subset.not_ready_addresses)):
            for number, address in enumerate(addresses):
                _validate_address(address, f"{subset_path}.{field}[{number}]", errors)
        names: set[str] = set()
        for number, port in enumerate(subset.ports):
            port_path = f"{subset_path}.ports[{number}]"
            check_port(port.port, f"{port_path}.port", errors, required=True)
            check_one_of(port.protocol, SERVICE_PROTOCOLS, f"{port_path}.protocol", errors)
            _check_port_name(port.name, names, f"{port_path}.name", errors)


def _check_port_name(name: str, seen: set[str], path: str, errors: list[FieldError]) -> None:
    """An IANA service name not in ``seen`` (which it joins); empty names are the caller's rule."""
    problem = port_name_problem(name) if name else None
    if problem:
        errors.append(FieldError(path, f"invalid port name {describe(name)}: {problem}"))
    elif name in seen:
        errors.append(FieldError(path, f"duplicate port name {describe(name)}"))
    seen.add(name)


def _validate_address(address: service_pb2.EndpointAddress, path: str, errors: list[FieldError]) -> None:
    if not is_ip(address.ip):
        errors.append(FieldError(f"{path}.ip", f"must be an IP address, got {describe(address.ip)}"))
    check_name(address.node_name, f"{path}.nodeName", errors, label=False, required=False)
    check_name(address.hostname, f"{path}.hostname", errors, label=True, required=False)
    if address.HasField("target_ref"):
        ref = address.target_ref
        check_one_of(ref.kind, ENDPOINT_TARGET_KINDS, f"{path}.targetRef.kind", errors, required=True)
        check_name(ref.name, f"{path}.targetRef.name", errors, label=False, required=True)
        check_name(ref.namespace, f"{path}.targetRef.namespace", errors, label=True, required=False)
