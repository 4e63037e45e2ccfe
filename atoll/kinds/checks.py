"""Validation of any API object: what every kind shares (metadata, identity) plus the hooks of its
kind (atoll/kinds/<kind>.py). The API server and clients (``atoll apply``) call the same functions.

None of them raises for bad input: each returns every problem found, empty when valid, in a
stable order (metadata, then the kind's own checks, then status). Size bounds
(atoll/validation/bounds.py) come first: an object over one is refused with those problems alone.
"""

from __future__ import annotations

from typing import Any

from atoll import kinds
from atoll.v1 import object_pb2
from atoll.validation.base import FieldError
from atoll.validation.bounds import bounds_errors
from atoll.validation.meta import validate_metadata
from atoll.validation.update import check_identity_unchanged

__all__ = [
    "FieldError",
    "validate",
    "validate_message",
    "validate_message_update",
    "validate_status",
    "validate_update",
]


def validate(obj: object_pb2.Object) -> list[FieldError]:
    """Every problem with ``obj``."""
    try:
        kind = kinds.of_object(obj)
    except kinds.UnknownKindError:
        return [FieldError("kind", "required: the object holds no kind")]
    return validate_message(kind, kinds.unwrap(obj))


def validate_message(kind: kinds.Kind, message: Any) -> list[FieldError]:
    """``validate`` of ``kind``'s message itself, outside an ``Object`` envelope (the API server
    holds messages: wrapping one would copy it)."""
    errors = bounds_errors(message)
    if errors:
        return errors  # the rest may be megabytes of entries: not worth walking one by one
    validate_metadata(
        message.metadata,
        "metadata",
        errors,
        kind_name=kind.name,
        namespaced=kind.namespaced,
        name_is_dns_label=kind.name_is_dns_label,
    )
    kind.validate(message, errors)
    kind.validate_status(message, errors)
    return errors


def validate_status(kind: kinds.Kind, message: Any) -> list[FieldError]:
    """What ``validate`` reports about the status of ``message``, for a status write onto a stored
    object whose metadata and spec are unchanged, so already valid."""
    errors = bounds_errors(message)
    if not errors:
        kind.validate_status(message, errors)
    return errors


def validate_update(old: object_pb2.Object, new: object_pb2.Object) -> list[FieldError]:
    """Everything wrong with replacing ``old`` by ``new``: ``validate(new)`` plus changes to what
    may not change (metadata namespace/name/uid, and the kind's immutable fields). Callers need
    only this call for updates."""
    try:
        old_kind, new_kind = kinds.of_object(old), kinds.of_object(new)
    except kinds.UnknownKindError:
        return validate(new)
    if old_kind != new_kind:
        return [*validate(new), FieldError("kind", f"may not change from {old_kind.name} to {new_kind.name}")]
    return validate_message_update(new_kind, kinds.unwrap(old), kinds.unwrap(new))


def validate_message_update(kind: kinds.Kind, old: Any, new: Any) -> list[FieldError]:
    """``validate_update`` of two messages of ``kind``, outside ``Object`` envelopes."""
    errors = validate_message(kind, new)
    check_identity_unchanged(old.metadata, new.metadata, errors)
    kind.validate_update(old, new, errors)
    return errors
