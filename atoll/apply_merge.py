"""What an apply writes: the rule by which a manifest's object lands on the stored one. The API
server applies it (controller/apiserver/registry.py); ``atoll diff`` predicts with it what an
apply would change, so the two cannot disagree.

The manifest owns spec, labels and annotations (but not system keys under ``atoll.dev`` it does
not mention); owner references and finalizers only when it lists some; a kind without a spec
(Event) is the manifest's whole; spec fields the system wrote and the manifest leaves empty stay
(``KindStrategy.keep_on_apply``: a bound workload's spec.nodeName, a claim's volumeName and
class, a volume's claimRef). The server then fills defaults and keeps what the kind keeps on update
(``predicted_apply``).
"""

from __future__ import annotations

from typing import Any

from atoll import kinds
from atoll.kinds import Kind
from atoll.kinds.kind import copy_present


def apply_onto(kind: Kind, old: Any, desired: Any) -> Any:
    """``old`` (a copy) with what the manifest ``desired`` owns written over it."""
    merged = kind.message()
    merged.CopyFrom(old)
    meta, want = merged.metadata, desired.metadata
    replace_keeping_system_keys(meta.labels, want.labels)
    replace_keeping_system_keys(meta.annotations, want.annotations)
    if want.owner_references:
        del meta.owner_references[:]
        meta.owner_references.extend(want.owner_references)
    if want.finalizers:
        del meta.finalizers[:]
        meta.finalizers.extend(want.finalizers)
    if not kind.has_spec:  # the manifest owns every field but metadata (Events)
        event = _without_metadata(desired)
        event.metadata.CopyFrom(meta)
        return event
    copy_present(desired, merged, "spec")
    kind.keep_on_apply(old, merged)
    return merged


def is_system_key(key: str) -> bool:
    """Keys under an ``atoll.dev`` prefix (``deployment.atoll.dev/revision``) belong to the system."""
    prefix, slash, _ = key.partition("/")
    return bool(slash) and (prefix == "atoll.dev" or prefix.endswith(".atoll.dev"))


def replace_keeping_system_keys(current: Any, wanted: Any) -> None:
    """The manifest's map replaces ``current``, except system keys the manifest does not mention:
    an apply must not wipe what controllers recorded (rollout history, template hashes)."""
    kept = {key: value for key, value in current.items() if is_system_key(key) and key not in wanted}
    current.clear()
    current.update(wanted)
    current.update(kept)


def _without_metadata(message: Any) -> Any:
    copy = type(message)()
    copy.CopyFrom(message)
    copy.ClearField("metadata")
    return copy


def predicted_apply(kind: Kind, old: Any, desired: Any) -> Any:
    """The object an apply of ``desired`` over ``old`` stores, before the server's validation:
    ``apply_onto``, then the kind's defaults and what the kind keeps from ``old`` on update."""
    merged = apply_onto(kind, old, desired)
    wrapped = kind.wrap(merged)
    kinds.apply_defaults(wrapped)
    merged = kinds.unwrap(wrapped)
    kind.keep_on_update(old, merged)
    return merged
