"""Validation of ObjectMeta, labels, annotations and conditions, shared by every kind."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from atoll.labels import label_key_problem, label_value_problem
from atoll.manifest_codec import describe, key_path
from atoll.v1 import meta_pb2
from atoll.validation.base import FieldError, check_at_least, check_name, check_one_of

CONDITION_STATUSES = ("True", "False", "Unknown")


def validate_metadata(
    meta: meta_pb2.ObjectMeta,
    path: str,
    errors: list[FieldError],
    *,
    kind_name: str,
    namespaced: bool,
    name_is_dns_label: bool,
) -> None:
    """Name (required; a DNS label where ``name_is_dns_label``, else a DNS subdomain), namespace
    (empty unless ``namespaced``), labels, annotations, owner references, finalizers."""
    check_name(meta.name, f"{path}.name", errors, label=name_is_dns_label, required=True)
    if not namespaced and meta.namespace:
        errors.append(
            FieldError(
                f"{path}.namespace",
                f"must be empty: {kind_name} is cluster-scoped, got {describe(meta.namespace)}",
            )
        )
    else:
        check_name(meta.namespace, f"{path}.namespace", errors, label=True, required=False)
    _validate_common(meta, path, errors)


def validate_template_metadata(meta: meta_pb2.ObjectMeta, path: str, errors: list[FieldError]) -> None:
    """Metadata inside a template: name and namespace are optional (the controller sets them)."""
    check_name(meta.name, f"{path}.name", errors, label=False, required=False)
    check_name(meta.namespace, f"{path}.namespace", errors, label=True, required=False)
    _validate_common(meta, path, errors)


def validate_labels(labels: Mapping[str, str], path: str, errors: list[FieldError]) -> None:
    """Keys are [prefix/]name, values at most 63 characters of [A-Za-z0-9_.-], as in Kubernetes."""
    for key in sorted(labels):
        problem = label_key_problem(key)
        if problem:
            errors.append(FieldError(key_path(path, key), f"invalid label key {describe(key)}: {problem}"))
        problem = label_value_problem(labels[key])
        if problem:
            errors.append(
                FieldError(key_path(path, key), f"invalid label value {describe(labels[key])}: {problem}")
            )


def validate_conditions(
    conditions: Iterable[meta_pb2.Condition], path: str, errors: list[FieldError]
) -> None:
    for index, condition in enumerate(conditions):
        if not condition.type:
            errors.append(FieldError(f"{path}[{index}].type", "required"))
        check_one_of(condition.status, CONDITION_STATUSES, f"{path}[{index}].status", errors, required=True)


def _validate_common(meta: meta_pb2.ObjectMeta, path: str, errors: list[FieldError]) -> None:
    validate_labels(meta.labels, f"{path}.labels", errors)
    for key in sorted(meta.annotations):
        problem = label_key_problem(key)
        if problem:
            errors.append(
                FieldError(
                    key_path(f"{path}.annotations", key), f"invalid annotation key {describe(key)}: {problem}"
                )
            )
    for index, owner in enumerate(meta.owner_references):
        owner_path = f"{path}.ownerReferences[{index}]"
        if not owner.kind:
            errors.append(FieldError(f"{owner_path}.kind", "required"))
        if not owner.name:
            errors.append(FieldError(f"{owner_path}.name", "required"))
    for index, finalizer in enumerate(meta.finalizers):
        problem = label_key_problem(finalizer)
        if problem:
            errors.append(
                FieldError(
                    f"{path}.finalizers[{index}]", f"invalid finalizer {describe(finalizer)}: {problem}"
                )
            )
    check_at_least(meta.resource_version, 0, f"{path}.resourceVersion", errors)
    check_at_least(meta.generation, 0, f"{path}.generation", errors)
