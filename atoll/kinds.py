"""The registry of API kinds: names users type, store keys, and the message behind each kind.

Every component finds a kind here; adding a kind means one entry in ``KINDS`` plus its proto.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from atoll.user_text import bounded_repr
from atoll.v1 import (
    deployment_pb2,
    event_pb2,
    lease_pb2,
    namespace_pb2,
    node_pb2,
    object_pb2,
    pod_pb2,
    rbac_pb2,
    virtualmachine_pb2,
)

API_VERSION = "atoll.dev/v1"
KEY_ROOT = "/atoll/"


class UnknownKindError(ValueError):
    """A kind name that matches no registered kind (message lists what would match)."""


@dataclass(frozen=True)
class Kind:
    """One API kind.

    ``field`` is the name of its member in the ``atoll.v1.Object`` oneof; ``plural`` is used in
    store keys and CLI output (``pod/web``); ``namespaced`` kinds live under a namespace.
    """

    name: str
    plural: str
    short: tuple[str, ...]
    field: str
    # Typed loosely: every kind message has metadata, but protobuf classes share no typed base for it.
    message: type[Any]
    namespaced: bool
    has_status: bool = True

    @property
    def singular(self) -> str:
        return self.name.lower()

    def key(self, namespace: str, name: str) -> str:
        """Store key of one object; cluster-scoped kinds ignore ``namespace``."""
        if self.namespaced:
            return f"{KEY_ROOT}{self.plural}/{namespace}/{name}"
        return f"{KEY_ROOT}{self.plural}/{name}"

    def prefix(self, namespace: str = "") -> str:
        """Store prefix of every object of this kind, or of one namespace of it."""
        if self.namespaced and namespace:
            return f"{KEY_ROOT}{self.plural}/{namespace}/"
        return f"{KEY_ROOT}{self.plural}/"

    def wrap(self, message: Message) -> object_pb2.Object:
        """The ``Object`` envelope holding ``message``."""
        obj = object_pb2.Object()
        getattr(obj, self.field).CopyFrom(message)
        return obj


KINDS: tuple[Kind, ...] = (
    Kind("Namespace", "namespaces", ("ns",), "namespace", namespace_pb2.Namespace, namespaced=False),
    Kind("Node", "nodes", ("no",), "node", node_pb2.Node, namespaced=False),
    Kind("Pod", "pods", ("po",), "pod", pod_pb2.Pod, namespaced=True),
    Kind(
        "VirtualMachine",
        "virtualmachines",
        ("vm", "vms"),
        "virtual_machine",
        virtualmachine_pb2.VirtualMachine,
        namespaced=True,
    ),
    Kind("Deployment", "deployments", ("deploy",), "deployment", deployment_pb2.Deployment, namespaced=True),
    Kind("Event", "events", ("ev",), "event", event_pb2.Event, namespaced=True, has_status=False),
    Kind("Lease", "leases", (), "lease", lease_pb2.Lease, namespaced=True, has_status=False),
    Kind("Role", "roles", (), "role", rbac_pb2.Role, namespaced=False, has_status=False),
    Kind(
        "RoleBinding", "rolebindings", ("rb",), "role_binding", rbac_pb2.RoleBinding, namespaced=False, has_status=False
    ),
)

_BY_FIELD = {kind.field: kind for kind in KINDS}
_BY_NAME = {kind.name: kind for kind in KINDS}
_BY_PLURAL = {kind.plural: kind for kind in KINDS}
_BY_ALIAS: dict[str, Kind] = {}
for _kind in KINDS:
    for _alias in (_kind.name.lower(), _kind.plural, *_kind.short):
        _BY_ALIAS[_alias] = _kind


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
        known = ", ".join(f"{k.singular}/{k.plural}" for k in KINDS)
        raise UnknownKindError(f"unknown kind {bounded_repr(alias)}; known kinds: {known}")
    return kind


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
