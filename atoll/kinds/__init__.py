"""The registry of API kinds: one strategy object per kind (kind.py), one file per kind.

Every component finds a kind here: by the name users type, by its ``Object`` oneof member, by a
store key. Adding a kind is its proto, its validation rules (atoll/validation/) and one file here
defining ``KIND``, listed once below; a duplicate name, alias or oneof member is an error at import.
"""

from __future__ import annotations

from typing import Any

from atoll.kinds import (
    configmap,
    deployment,
    endpoints,
    event,
    lease,
    namespace,
    node,
    persistentvolume,
    persistentvolumeclaim,
    pod,
    role,
    rolebinding,
    secret,
    service,
    storageclass,
    virtualmachine,
    virtualmachinemigration,
)
from atoll.kinds.kind import KEY_ROOT, Kind
from atoll.suggest import did_you_mean
from atoll.user_text import bounded_repr
from atoll.v1 import object_pb2

__all__ = [
    "API_VERSION",
    "KEY_ROOT",
    "KINDS",
    "Kind",
    "UnknownKindError",
    "all_aliases",
    "apply_defaults",
    "by_name",
    "kind_of_field",
    "kind_of_key",
    "lookup",
    "of_object",
    "unwrap",
]

API_VERSION = "atoll.dev/v1"


class UnknownKindError(ValueError):
    """A kind name that matches no registered kind (message lists what would match)."""


def register(*registered: Kind) -> tuple[Kind, ...]:
    """The kinds in order; ValueError when two share a name, plural, short name or oneof member."""
    seen: dict[str, str] = {}
    for kind in registered:
        words = {kind.singular, kind.plural.lower(), *(short.lower() for short in kind.short), f"field {kind.field}"}
        for word in words:
            if word in seen:
                raise ValueError(f"kind {kind.name}: {word!r} is already taken by kind {seen[word]}")
            seen[word] = kind.name
    return registered


KINDS: tuple[Kind, ...] = register(
    namespace.KIND,
    node.KIND,
    pod.KIND,
    virtualmachine.KIND,
    deployment.KIND,
    event.KIND,
    lease.KIND,
    role.KIND,
    rolebinding.KIND,
    service.KIND,
    endpoints.KIND,
    configmap.KIND,
    secret.KIND,
    persistentvolumeclaim.KIND,
    persistentvolume.KIND,
    storageclass.KIND,
    virtualmachinemigration.KIND,
)

_BY_FIELD = {kind.field: kind for kind in KINDS}
_BY_NAME = {kind.name: kind for kind in KINDS}
_BY_PLURAL = {kind.plural: kind for kind in KINDS}
_BY_ALIAS = {alias: kind for kind in KINDS for alias in (kind.singular, kind.plural, *kind.short)}


def by_name(name: str) -> Kind:
    """The kind whose canonical name is ``name`` (``Pod``); raises UnknownKindError."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownKindError(f"unknown kind {bounded_repr(name)}; known kinds: {', '.join(_BY_NAME)}") from None


def lookup(alias: str) -> Kind:
    """The kind a user means: canonical, singular, plural or short name, any case."""
    kind = _BY_NAME.get(alias) or _BY_ALIAS.get(alias.lower())
    if kind is None:
        hint = did_you_mean(alias, _BY_ALIAS)
        if not hint:
            hint = "; known kinds: " + ", ".join(f"{k.singular}/{k.plural}" for k in KINDS)
        raise UnknownKindError(f"unknown kind {bounded_repr(alias)}{hint}")
    return kind


def all_aliases() -> list[str]:
    """Every word ``lookup`` accepts in lowercase (singular, plural, short names), for completion."""
    return sorted(_BY_ALIAS)


def of_object(obj: object_pb2.Object) -> Kind:
    """The kind held by an ``Object`` envelope; raises UnknownKindError when it is empty."""
    field = obj.WhichOneof("kind")
    if field is None:
        raise UnknownKindError("object holds no kind (set exactly one of namespace, node, pod, ...)")
    return _BY_FIELD[field]


def unwrap(obj: object_pb2.Object) -> Any:
    """The message inside an ``Object`` envelope (a Pod, a Node, ...)."""
    return getattr(obj, of_object(obj).field)


def kind_of_field(field: str) -> Kind:
    """The kind whose ``Object`` oneof member is ``field`` (``virtual_machine`` -> VirtualMachine)."""
    return _BY_FIELD[field]


def kind_of_key(key: str) -> Kind | None:
    """The kind a store key belongs to, or None for keys outside the object space."""
    if not key.startswith(KEY_ROOT):
        return None
    return _BY_PLURAL.get(key[len(KEY_ROOT) :].split("/", 1)[0])


def apply_defaults(obj: object_pb2.Object) -> None:
    """Fill the defaults of ``obj``'s kind in place; idempotent (only empty fields are filled).
    An empty Object is left alone."""
    field = obj.WhichOneof("kind")
    if field is not None:
        _BY_FIELD[field].default(getattr(obj, field))
