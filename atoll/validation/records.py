"""Validation of the record kinds written mostly by the system: Event and Lease."""

from __future__ import annotations

from collections.abc import Sequence

from atoll.manifest_codec import describe
from atoll.v1 import event_pb2, lease_pb2
from atoll.validation.base import FieldError, check_at_least, check_name, check_one_of

EVENT_TYPES = ("Normal", "Warning")


def validate_event(event: event_pb2.Event, known_kinds: Sequence[str], errors: list[FieldError]) -> None:
    """The involved object (its kind one of ``known_kinds``), type and count."""
    involved = event.involved_object
    if not involved.kind:
        errors.append(FieldError("involvedObject.kind", "required"))
    elif involved.kind not in known_kinds:
        known = ", ".join(known_kinds)
        errors.append(
            FieldError("involvedObject.kind", f"unknown kind {describe(involved.kind)}; known kinds: {known}")
        )
    check_name(involved.name, "involvedObject.name", errors, label=False, required=True)
    check_name(involved.namespace, "involvedObject.namespace", errors, label=True, required=False)
    check_one_of(event.type, EVENT_TYPES, "type", errors, required=True)
    check_at_least(event.count, 0, "count", errors)


def validate_lease(lease: lease_pb2.Lease, errors: list[FieldError]) -> None:
    check_at_least(lease.spec.lease_duration_seconds, 0, "spec.leaseDurationSeconds", errors)
    check_at_least(lease.spec.lease_transitions, 0, "spec.leaseTransitions", errors)
