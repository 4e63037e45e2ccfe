"""Rules for changing an existing object: which fields are immutable once written."""

from __future__ import annotations

from typing import Any

from atoll.manifest_codec import describe
from atoll.validation.base import FieldError


def immutable_field_errors(kind_name: str, old: Any, new: Any) -> list[FieldError]:
    """Problems with turning ``old`` into ``new`` (same kind), beyond ``new`` being valid itself."""
    errors: list[FieldError] = []
    for field, json_name in (("namespace", "namespace"), ("name", "name")):
        _unchanged(
            getattr(old.metadata, field), getattr(new.metadata, field), f"metadata.{json_name}", errors
        )
    if old.metadata.uid and new.metadata.uid and old.metadata.uid != new.metadata.uid:
        errors.append(FieldError("metadata.uid", f"may not change (was {describe(old.metadata.uid)})"))
    if (
        kind_name in ("Pod", "VirtualMachine")
        and old.spec.node_name
        and new.spec.node_name != old.spec.node_name
    ):
        errors.append(
            FieldError("spec.nodeName", f"may not change once set (was {describe(old.spec.node_name)})")
        )
    if kind_name == "Pod":
        old_names = [container.name for container in old.spec.containers]
        new_names = [container.name for container in new.spec.containers]
        if old_names != new_names:
            errors.append(
                FieldError("spec.containers", f"container names may not change (were {', '.join(old_names)})")
            )
        _unchanged(old.spec.os, new.spec.os, "spec.os", errors)
        _unchanged(old.spec.windows.isolation, new.spec.windows.isolation, "spec.windows.isolation", errors)
    if kind_name == "Deployment" and old.spec.selector != new.spec.selector:
        errors.append(FieldError("spec.selector", "may not change (create a new Deployment instead)"))
    return errors


def _unchanged(old: str, new: str, path: str, errors: list[FieldError]) -> None:
    if old != new:
        errors.append(FieldError(path, f"may not change (was {describe(old)})"))
