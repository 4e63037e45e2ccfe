"""Validation of API objects, shared by the API server and clients: ``validate`` reports every problem.

Size bounds (bounds.py) come first: an object over one is refused with those problems alone.

Paths are in manifest form (``spec.containers[0].resources.requests.memory``). Validation accepts
objects both before and after ``atoll.defaults.apply_defaults``: empty values that defaults fill
are valid.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from atoll import kinds
from atoll.v1 import deployment_pb2, object_pb2, pod_pb2, virtualmachine_pb2
from atoll.validation.base import FieldError
from atoll.validation.bounds import bounds_errors
from atoll.validation.cluster import validate_namespace, validate_node
from atoll.validation.deployment import validate_deployment_spec, validate_deployment_status
from atoll.validation.meta import validate_metadata
from atoll.validation.pod import validate_pod_spec, validate_pod_status
from atoll.validation.rbac import validate_role, validate_role_binding
from atoll.validation.records import validate_event, validate_lease
from atoll.validation.update import immutable_field_errors
from atoll.validation.virtualmachine import validate_vm_spec, validate_vm_status

__all__ = ["FieldError", "validate", "validate_status", "validate_update"]


def validate(obj: object_pb2.Object) -> list[FieldError]:
    """Every problem with ``obj`` (empty when valid), in a stable order; never raises."""
    try:
        kind = kinds.of_object(obj)
    except kinds.UnknownKindError:
        return [FieldError("kind", "required: the object holds no kind")]
    message = kinds.unwrap(obj)
    errors = bounds_errors(message)
    if errors:
        return errors  # the rest may be megabytes of entries: not worth walking one by one
    validate_metadata(message.metadata, kind, "metadata", errors)
    if kind.name in _SPEC_VALIDATORS:
        spec_bytes = message.spec.SerializeToString(deterministic=True)
        memo = _spec_errors if len(spec_bytes) <= _MEMO_SPEC_BYTES else _spec_errors.__wrapped__
        errors.extend(memo(kind.name, spec_bytes))
    status_validator = _STATUS_VALIDATORS.get(kind.name)
    if status_validator is not None:
        status_validator(message.status, "status", errors)
    elif kind.name == "Namespace":
        validate_namespace(message, errors)
    elif kind.name == "Node":
        validate_node(message, errors)
    elif kind.name == "Event":
        validate_event(message, errors)
    elif kind.name == "Lease":
        validate_lease(message, errors)
    elif kind.name == "Role":
        validate_role(message, errors)
    elif kind.name == "RoleBinding":
        validate_role_binding(message, errors)
    return errors


def validate_status(kind: kinds.Kind, message: Any) -> list[FieldError]:
    """What ``validate`` reports about the status of ``message`` (of ``kind``), for a status
    write onto a stored object whose metadata and spec are unchanged, so already valid. Kinds
    validated as a whole (Node, Namespace) get all of ``validate``."""
    validator = _STATUS_VALIDATORS.get(kind.name)
    if validator is None:
        return validate(kind.wrap(message))
    errors = bounds_errors(message)
    if not errors:
        validator(message.status, "status", errors)
    return errors


_STATUS_VALIDATORS: dict[str, Callable[[Any, str, list[FieldError]], None]] = {
    "Pod": validate_pod_status,
    "VirtualMachine": validate_vm_status,
    "Deployment": validate_deployment_status,
}

_SPEC_VALIDATORS: dict[str, tuple[type[Message], Callable[[Any, str, list[FieldError]], None]]] = {
    "Pod": (pod_pb2.PodSpec, validate_pod_spec),
    "VirtualMachine": (virtualmachine_pb2.VirtualMachineSpec, validate_vm_spec),
    "Deployment": (deployment_pb2.DeploymentSpec, validate_deployment_spec),
}


# Spec validation is a pure function of the spec, and fleets repeat specs (every replica of a
# Deployment, every pod of a batch job): memoized on the spec's canonical bytes it costs one
# deterministic serialization instead of a walk over freshly decoded messages. Only specs of at
# most _MEMO_SPEC_BYTES are kept: the memo must not pin megabytes per entry.
_MEMO_SPEC_BYTES = 16 * 1024
@functools.lru_cache(maxsize=4096)
def _spec_errors(kind_name: str, spec_bytes: bytes) -> tuple[FieldError, ...]:
    spec_type, validator = _SPEC_VALIDATORS[kind_name]
    errors: list[FieldError] = []
    validator(spec_type.FromString(spec_bytes), "spec", errors)
    return tuple(errors)


def validate_update(old: object_pb2.Object, new: object_pb2.Object) -> list[FieldError]:
    """Everything wrong with replacing ``old`` by ``new``: ``validate(new)`` plus immutable-field
    changes (metadata namespace/name/uid, a set spec.nodeName, a Deployment's selector, a Pod's
    container names, os and Windows isolation). Callers need only this call for updates."""
    errors = validate(new)
    try:
        old_kind, new_kind = kinds.of_object(old), kinds.of_object(new)
    except kinds.UnknownKindError:
        return errors
    if old_kind != new_kind:
        return [*errors, FieldError("kind", f"may not change from {old_kind.name} to {new_kind.name}")]
    return errors + immutable_field_errors(new_kind.name, kinds.unwrap(old), kinds.unwrap(new))
