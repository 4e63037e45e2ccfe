"""Endpoints: the addresses behind the Service of the same name (Kubernetes' v1 Endpoints shape),
written by the endpoints controller (controller/controllers/endpoints/) for every Service with a
selector, owned by that Service."""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, NONE, Column
from atoll.kinds.kind import KindStrategy
from atoll.v1 import service_pb2
from atoll.validation.base import FieldError
from atoll.validation.service import validate_endpoints

# kubectl shows three addresses, then "+ N more...".
SHOWN_ADDRESSES = 3


def format_addresses(endpoints: service_pb2.Endpoints, now: float) -> str:
    """kubectl's ENDPOINTS: ready ``ip:port`` pairs, the first three and how many more."""
    pairs = [
        f"{address.ip}:{port.port}" if subset.ports else address.ip
        for subset in endpoints.subsets
        for address in subset.addresses
        for port in (subset.ports or [service_pb2.EndpointPort()])
    ]
    shown = ",".join(pairs[:SHOWN_ADDRESSES])
    more = len(pairs) - SHOWN_ADDRESSES
    return f"{shown} + {more} more..." if more > 0 else shown or NONE


def count_addresses(endpoints: service_pb2.Endpoints, now: float) -> str:
    ready = sum(len(subset.addresses) for subset in endpoints.subsets)
    not_ready = sum(len(subset.not_ready_addresses) for subset in endpoints.subsets)
    return f"{ready}/{ready + not_ready}"


class EndpointsKind(KindStrategy[service_pb2.Endpoints]):
    def validate(self, obj: service_pb2.Endpoints, errors: list[FieldError]) -> None:
        validate_endpoints(obj, errors)


KIND = EndpointsKind(
    name="Endpoints",
    plural="endpoints",
    short=("ep",),
    field="endpoints",
    message=service_pb2.Endpoints,
    namespaced=True,
    has_status=False,
    columns=(
        NAME_COLUMN,
        Column("ENDPOINTS", format_addresses),
        AGE_COLUMN,
        Column("READY", count_addresses, wide=True),
    ),
)
