"""Service: a stable virtual IP and ports in front of the Ready pods and VMs its selector matches.

The API server allocates the cluster IP on create (controller/apiserver/service_ips/); the
endpoints controller keeps the Endpoints of the same name and the endpoint counts in the status.
"""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, NONE, Column
from atoll.kinds.exposure import Exposure
from atoll.kinds.kind import KindStrategy
from atoll.v1 import service_pb2
from atoll.validation.base import FieldError
from atoll.validation.service import validate_service_spec, validate_service_status

SERVICE_TYPE = "ClusterIP"
SESSION_AFFINITY = "None"


def default_service_spec(spec: service_pb2.ServiceSpec) -> None:
    """type ClusterIP, sessionAffinity None, each port's protocol TCP and targetPort its port
    (Kubernetes' defaults); clusterIPs follows clusterIP once that is set."""
    if not spec.type:
        spec.type = SERVICE_TYPE
    if not spec.session_affinity:
        spec.session_affinity = SESSION_AFFINITY
    for port in spec.ports:
        if not port.protocol:
            port.protocol = "TCP"
        if not port.target_port and port.port:
            port.target_port = str(port.port)
    if spec.cluster_ip and not spec.cluster_ips:
        spec.cluster_ips.append(spec.cluster_ip)


def format_ports(service: service_pb2.Service, now: float) -> str:
    """kubectl's PORT(S): ``80/TCP,53/UDP``."""
    return ",".join(f"{port.port}/{port.protocol or 'TCP'}" for port in service.spec.ports) or NONE


def format_selector(service: service_pb2.Service, now: float) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(service.spec.selector.items())) or NONE


def format_endpoints(service: service_pb2.Service, now: float) -> str:
    """Ready endpoint addresses, with the not-ready ones when there are any: ``2`` or ``2 (+1 not ready)``."""
    ready, not_ready = service.status.ready_endpoints, service.status.not_ready_endpoints
    return f"{ready} (+{not_ready} not ready)" if not_ready else str(ready)


class ServiceKind(KindStrategy[service_pb2.Service]):
    def default(self, obj: service_pb2.Service) -> None:
        default_service_spec(obj.spec)

    def validate(self, obj: service_pb2.Service, errors: list[FieldError]) -> None:
        validate_service_spec(obj.spec, "spec", errors)

    def validate_status(self, obj: service_pb2.Service, errors: list[FieldError]) -> None:
        validate_service_status(obj.status, "status", errors)

    def validate_update(self, old: service_pb2.Service, new: service_pb2.Service, errors: list[FieldError]) -> None:
        """The cluster IP never changes: clients and node rules hold it (delete and create the
        Service to get another)."""
        if old.spec.cluster_ip != new.spec.cluster_ip:
            message = f"may not change (it is {old.spec.cluster_ip or NONE}); delete and recreate the Service"
            errors.append(FieldError("spec.clusterIP", message))

    def exposure(self, obj: service_pb2.Service) -> Exposure:
        """The Service's own selector and ports (a second Service in front of the same pods)."""
        ports = tuple(
            service_pb2.ServicePort(port=p.port, target_port=p.target_port, protocol=p.protocol or "TCP")
            for p in obj.spec.ports
        )
        return Exposure(dict(obj.spec.selector), ports)

    def keep_on_update(self, old: service_pb2.Service, merged: service_pb2.Service) -> None:
        """Status, and the allocated cluster IP when the update leaves it empty (an apply of the
        manifest that created the Service), as Kubernetes keeps it."""
        super().keep_on_update(old, merged)
        if not merged.spec.cluster_ip:
            merged.spec.cluster_ip = old.spec.cluster_ip
            del merged.spec.cluster_ips[:]
            merged.spec.cluster_ips.extend(old.spec.cluster_ips)


KIND = ServiceKind(
    name="Service",
    plural="services",
    short=("svc",),
    field="service",
    message=service_pb2.Service,
    namespaced=True,
    # A Service name becomes a DNS name: a DNS-1123 label, as in Kubernetes.
    name_is_dns_label=True,
    columns=(
        NAME_COLUMN,
        Column("TYPE", lambda svc, now: svc.spec.type or SERVICE_TYPE),
        Column("CLUSTER-IP", lambda svc, now: svc.spec.cluster_ip or NONE),
        Column("PORT(S)", format_ports),
        Column("ENDPOINTS", format_endpoints),
        AGE_COLUMN,
        Column("SELECTOR", format_selector, wide=True),
    ),
    selectable_fields={"spec.clusterIP": lambda m: str(m.spec.cluster_ip), "spec.type": lambda m: str(m.spec.type)},
)
