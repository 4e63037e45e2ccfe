"""Rules for changing an existing object: which fields are immutable once written.

The identity in metadata is immutable for every kind; each kind adds its own immutable fields in
its ``validate_update`` hook (atoll/kinds/), built from the checks here.
"""

from __future__ import annotations

from atoll.manifest_codec import describe
from atoll.v1 import meta_pb2
from atoll.validation.base import FieldError


def check_identity_unchanged(old: meta_pb2.ObjectMeta, new: meta_pb2.ObjectMeta, errors: list[FieldError]) -> None:
    """metadata.namespace, metadata.name and a set metadata.uid never change."""
    check_unchanged(old.namespace, new.namespace, "metadata.namespace", errors)
    check_unchanged(old.name, new.name, "metadata.name", errors)
    if old.uid and new.uid and old.uid != new.uid:
        errors.append(FieldError("metadata.uid", f"may not change (was {describe(old.uid)})"))


def check_node_name_kept(old: str, new: str, errors: list[FieldError], hint: str = "") -> None:
    """A workload's spec.nodeName, once set, never changes (Bind sets it once); ``hint`` (the
    exception a kind allows) is appended to the message."""
    if old and new != old:
        errors.append(FieldError("spec.nodeName", f"may not change once set (was {describe(old)}){hint}"))


def check_unchanged(old: str, new: str, path: str, errors: list[FieldError]) -> None:
    if old != new:
        errors.append(FieldError(path, f"may not change (was {describe(old)})"))
