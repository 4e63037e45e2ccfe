"""Validation of resource requirements (requests/limits) and resource lists (node capacity).

Extended resources (atoll/extended_resources.py) are whole numbers everywhere, and a container
that gives both a request and a limit for one gives the same number."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from atoll.extended_resources import ExtendedResourceError, is_extended, whole_units
from atoll.labels import label_key_problem
from atoll.manifest_codec import describe, key_path
from atoll.v1 import scheduling_pb2
from atoll.validation.base import FieldError, check_quantity


def validate_resource_list(
    resources: Mapping[str, str], path: str, errors: list[FieldError]
) -> dict[str, Fraction]:
    """Every key a resource name, every value a non-negative quantity (a whole number for an
    extended resource); returns the parsed ones."""
    parsed: dict[str, Fraction] = {}
    for name in sorted(resources):
        entry_path = key_path(path, name)
        problem = label_key_problem(name)
        if problem:
            errors.append(FieldError(entry_path, f"invalid resource name {describe(name)}: {problem}"))
        value = check_quantity(resources[name], entry_path, errors)
        if value is None:
            continue
        if is_extended(name):
            try:
                whole_units(resources[name])
            except ExtendedResourceError as err:
                errors.append(FieldError(entry_path, str(err)))
                continue
        parsed[name] = value
    return parsed


def validate_requirements(
    requirements: scheduling_pb2.ResourceRequirements, path: str, errors: list[FieldError], *, windows: bool
) -> None:
    """Quantities parse, requests <= limits (= for extended resources); on Windows a memory limit
    must equal the request."""
    requests = validate_resource_list(requirements.requests, f"{path}.requests", errors)
    limits = validate_resource_list(requirements.limits, f"{path}.limits", errors)
    for name in sorted(requests.keys() & limits.keys()):
        if is_extended(name) and requests[name] != limits[name]:
            errors.append(
                FieldError(
                    key_path(f"{path}.requests", name),
                    f"must equal the {describe(name)} limit ({requirements.limits[name]}): an extended "
                    f"resource is never overcommitted, got {requirements.requests[name]}",
                )
            )
        elif requests[name] > limits[name]:
            errors.append(
                FieldError(
                    key_path(f"{path}.requests", name),
                    f"must be less than or equal to the {name} limit "
                    f"({requirements.limits[name]}), got {requirements.requests[name]}",
                )
            )
        elif windows and name == "memory" and requests[name] != limits[name]:
            errors.append(
                FieldError(
                    key_path(f"{path}.limits", name),
                    f"must equal the memory request ({requirements.requests[name]}) in a Windows pod: "
                    "Windows has no OOM killer, the limit is a hard job-object cap; set limit = request "
                    "or omit the limit",
                )
            )
