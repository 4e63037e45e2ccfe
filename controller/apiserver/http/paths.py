"""Kubernetes-shaped object paths, generated from the kinds registry (no route per kind by hand).

    /apis/atoll.dev/v1/{plural}                                  every namespace, or a cluster-scoped kind
    /apis/atoll.dev/v1/{plural}/{name}[/{subresource}]           a cluster-scoped object
    /apis/atoll.dev/v1/namespaces/{ns}/{plural}                  one namespace
    /apis/atoll.dev/v1/namespaces/{ns}/{plural}/{name}[/{sub}]   a namespaced object

``/namespaces/{name}`` is the Namespace object itself (two segments), as in Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass

from atoll import kinds
from atoll.kinds import Kind
from atoll.user_text import bounded_repr

API_PREFIX = f"/apis/{kinds.API_VERSION}"
# Subresources an object path may end in; which verbs each allows is the handler's business.
SUBRESOURCES = frozenset({"status", "log", "start", "stop", "restart", "pause", "resume", "history", "undo"})
_PLURALS = {kind.plural: kind for kind in kinds.KINDS}
_NAMESPACES = kinds.by_name("Namespace").plural


class PathError(ValueError):
    """The path names no collection or object of this API; the message says which part."""


@dataclass(frozen=True)
class Target:
    """What a path names: a collection (``name`` empty) or one object, maybe a subresource of it.
    ``namespace`` is "" for cluster-scoped kinds and for collections across every namespace."""

    kind: Kind
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def is_collection(self) -> bool:
        return not self.name


def parse(tail: str) -> Target:
    """The target of the path below API_PREFIX (``namespaces/default/pods/web``); PathError
    when it names none."""
    parts = tail.strip("/").split("/") if tail.strip("/") else []
    if any(part == "" for part in parts):
        raise PathError("empty path segment")
    if len(parts) == 3 and parts[0] == _NAMESPACES and parts[2] not in _PLURALS:
        return _object(_kind(_NAMESPACES), "", parts[1:])  # a Namespace's own subresource
    if len(parts) >= 3 and parts[0] == _NAMESPACES:
        kind = _kind(parts[2])
        if not kind.namespaced:
            raise PathError(f"{kind.plural} are cluster-scoped: use {API_PREFIX}/{kind.plural}")
        return _object(kind, parts[1], parts[3:])
    if not parts:
        raise PathError("the path names no resource: add /{plural}, e.g. /pods")
    kind = _kind(parts[0])
    if kind.namespaced and len(parts) > 1:
        raise PathError(f"{kind.plural} are namespaced: use {API_PREFIX}/namespaces/NAMESPACE/{kind.plural}/NAME")
    return _object(kind, "", parts[1:])


def collection_path(kind: Kind, namespace: str = "") -> str:
    """The path of ``kind``'s collection (in ``namespace`` when given and the kind is namespaced)."""
    if kind.namespaced and namespace:
        return f"{API_PREFIX}/{_NAMESPACES}/{namespace}/{kind.plural}"
    return f"{API_PREFIX}/{kind.plural}"


def _object(kind: Kind, namespace: str, rest: list[str]) -> Target:
    if not rest:
        return Target(kind, namespace)
    if len(rest) > 2:
        raise PathError(f"too many path segments after {kind.plural}/{bounded_repr(rest[0])}")
    subresource = rest[1] if len(rest) == 2 else ""
    if subresource and subresource not in SUBRESOURCES:
        raise PathError(f"unknown subresource {bounded_repr(subresource)}; known: {', '.join(sorted(SUBRESOURCES))}")
    return Target(kind, namespace, rest[0], subresource)


def _kind(plural: str) -> Kind:
    kind = _PLURALS.get(plural)
    if kind is None:
        raise PathError(f"unknown resource {bounded_repr(plural)}; known: {', '.join(sorted(_PLURALS))}")
    return kind
