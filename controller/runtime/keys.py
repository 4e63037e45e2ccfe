"""Work-queue keys of objects: ``namespace/name``, or ``name`` for cluster-scoped kinds, as in
client-go's MetaNamespaceKeyFunc."""

from __future__ import annotations

from atoll.ports import ApiObject


def key_of(message: ApiObject) -> str:
    """The key of an API message (a Pod, a Node, ...)."""
    return join_key(message.metadata.namespace, message.metadata.name)


def join_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str, str]:
    """``(namespace, name)`` of a key; namespace is empty for cluster-scoped objects."""
    namespace, _, name = key.rpartition("/")
    return namespace, name
