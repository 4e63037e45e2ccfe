"""What a decoded request asks to do, in the authorizer's terms: verb, kind, namespace, name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atoll import kinds
from atoll.kinds import Kind
from atoll.user_text import bounded_repr
from controller.apiserver.objectref import effective_namespace

# Methods that change the store; every call of these is audited.
MUTATING_METHODS = frozenset(
    {"Create", "BatchCreate", "Update", "UpdateStatus", "BatchUpdateStatus", "Delete", "Apply", "Bind"}
)
# A session into a workload (atoll.v1.Sessions; the request is its SessionStart).
SESSION_METHOD = "Session"
# Writing a workload that mounts a node's path needs this verb too (admins have it: "*").
HOST_PATH_VERB = "hostpath"
# Batch methods whose objects each need the permission of this single-object method.
_BATCH_ITEM_METHOD = {"BatchCreate": "Create", "BatchUpdateStatus": "UpdateStatus"}
_VERB_OF = {
    "Get": "get",
    "List": "list",
    "Watch": "watch",
    "Create": "create",
    "Update": "update",
    "UpdateStatus": "updatestatus",
    "Delete": "delete",
}


@dataclass(frozen=True)
class RequestAttributes:
    """One permission a call needs. ``namespace`` is "" for cluster-scoped kinds and for lists and
    watches across all namespaces; ``name`` is "" for lists and watches. ``field_selector`` is the
    list/watch selector text; ``obj`` the kind message a Create/Update/UpdateStatus carries."""

    verb: str
    kind: Kind
    namespace: str = ""
    name: str = ""
    field_selector: str = ""
    obj: Any = None

    def describe(self) -> str:
        where = f" in namespace {bounded_repr(self.namespace)}" if self.namespace else ""
        if not self.namespace and self.kind.namespaced:
            where = " in all namespaces"
        target = f" {bounded_repr(self.name)}" if self.name else ""
        return f"{self.verb} {self.kind.plural}{target}{where}"


def attributes_for(method: str, request: Any) -> list[RequestAttributes]:
    """Every permission ``request`` to ``method`` needs (Apply: create and update; Bind: one per
    binding; BatchCreate: one create per object; BatchUpdateStatus: one updatestatus per object;
    a Session: its capability as the verb). Empty when the request names no valid kind: the
    servicer then refuses it as invalid."""
    if method == "Bind":
        return [
            RequestAttributes("bind", kind, effective_namespace(kind, binding.namespace), binding.name)
            for binding in request.bindings
            if (kind := _lookup(binding.kind)) is not None
        ]
    if method in _BATCH_ITEM_METHOD:
        item_method = _BATCH_ITEM_METHOD[method]
        return [attributes for obj in request.objects for attributes in _object_attributes(item_method, obj)]
    if method in ("Create", "Update", "UpdateStatus", "Apply"):
        return _object_attributes(method, request.object)
    kind = _lookup(request.kind)
    if kind is None:
        return []
    if method == SESSION_METHOD:  # exec, attach, console, port-forward: the capability is the verb
        return [RequestAttributes(request.capability, kind, effective_namespace(kind, request.namespace), request.name)]
    if method in ("List", "Watch"):
        namespace = request.namespace if kind.namespaced else ""
        return [RequestAttributes(_VERB_OF[method], kind, namespace, field_selector=request.field_selector)]
    return [RequestAttributes(_VERB_OF[method], kind, effective_namespace(kind, request.namespace), request.name)]


def per_item_targets(method: str, request: Any, attributes: list[RequestAttributes]) -> list[RequestAttributes | None]:
    """For BatchCreate, BatchUpdateStatus and Bind, whose items succeed or fail on their own:
    ``attributes`` (from ``attributes_for``) aligned with the request's objects or bindings, None
    for an item that named no valid kind. Empty for other methods."""
    if method in _BATCH_ITEM_METHOD:
        items = [obj.WhichOneof("kind") is not None for obj in request.objects]
    elif method == "Bind":
        items = [_lookup(binding.kind) is not None for binding in request.bindings]
    else:
        return []
    remaining = iter([item for item in attributes if item.verb != HOST_PATH_VERB])
    return [next(remaining) if has_kind else None for has_kind in items]


def _object_attributes(method: str, obj: Any) -> list[RequestAttributes]:
    field = obj.WhichOneof("kind")
    if field is None:
        return []
    kind = kinds.of_object(obj)
    message = getattr(obj, field)
    namespace = effective_namespace(kind, message.metadata.namespace)
    verbs = ("create", "update") if method == "Apply" else (_VERB_OF[method],)
    if method != "UpdateStatus" and kind.uses_host_path(message):
        verbs = (*verbs, HOST_PATH_VERB)
    return [RequestAttributes(verb, kind, namespace, message.metadata.name, obj=message) for verb in verbs]


def _lookup(name: str) -> Kind | None:
    try:
        return kinds.lookup(name)
    except kinds.UnknownKindError:
        return None
