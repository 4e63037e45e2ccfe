"""How the API server names objects in messages and store keys."""

from __future__ import annotations

from typing import Any

from atoll.kinds import Kind
from atoll.user_text import bounded

DEFAULT_NAMESPACE = "default"


def effective_namespace(kind: Kind, namespace: str) -> str:
    """The namespace an object of ``kind`` lives in: ``default`` when unset, empty when cluster-scoped."""
    if not kind.namespaced:
        return ""
    return namespace or DEFAULT_NAMESPACE


def describe(kind: Kind, namespace: str, name: str) -> str:
    """``pod/default/web`` style name for error messages (``node/n1`` for cluster-scoped); the
    namespace and name are bounded (atoll/user_text.py): a refused request may carry megabytes."""
    if kind.namespaced:
        return f"{kind.singular}/{bounded(namespace)}/{bounded(name)}"
    return f"{kind.singular}/{bounded(name)}"


def describe_message(kind: Kind, message: Any) -> str:
    return describe(kind, message.metadata.namespace, message.metadata.name)
