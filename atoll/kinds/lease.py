"""Lease: node heartbeats and leader election."""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, Column
from atoll.kinds.kind import KindStrategy
from atoll.v1 import lease_pb2
from atoll.validation.base import FieldError
from atoll.validation.records import validate_lease


class LeaseKind(KindStrategy[lease_pb2.Lease]):
    def validate(self, obj: lease_pb2.Lease, errors: list[FieldError]) -> None:
        validate_lease(obj, errors)


KIND = LeaseKind(
    name="Lease",
    plural="leases",
    short=(),
    field="lease",
    message=lease_pb2.Lease,
    namespaced=True,
    has_status=False,
    columns=(NAME_COLUMN, Column("HOLDER", lambda lease, now: str(lease.spec.holder_identity)), AGE_COLUMN),
)
