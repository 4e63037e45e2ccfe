"""The server-only part of some kinds' strategies (the rest is atoll/kinds/), keyed by kind name.

- ``DELETERS``: a kind listed there is deleted by its own ``Deleter`` instead of the registry's
  generic path (finalizers, propagation policy).
- ``LATEST_NOT_KEPT``: kinds whose newest copies the watch cache does not keep as the base of
  writes.
- ``CreateReserver``: what a kind's new objects take from a pool shared by all of them (a
  Service's cluster IP, service_ips/); the registry is handed one per kind name by whoever
  builds it (server.py), since pools depend on the server's flags.

A kind without an entry needs nothing here: adding a kind usually touches no file in this folder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from atoll import kinds, namespaces
from atoll.clock import Clock, set_timestamp
from atoll.kinds import event as event_kind
from atoll.kinds import namespace as namespace_kind
from atoll.v1 import api_pb2
from controller.apiserver import codec
from controller.apiserver.errors import NotFoundError
from controller.store.protocol import Store

DeleteObject = Callable[[api_pb2.DeleteRequest], Awaitable[api_pb2.DeleteResponse]]
# Gives back what a CreateReserver took, when the object was not written after all.
Undo = Callable[[], Awaitable[None]]


class CreateReserver(Protocol):
    async def reserve(self, message: Any) -> Undo | None:
        """Takes what the new, valid ``message`` needs from the pool and records it in
        ``message`` in place, just before it is written; returns how to give it back (None:
        nothing taken). Raises a StatusError (a one-line reason) when it cannot."""


class Deleter(Protocol):
    def refusal(self, name: str) -> str | None:
        """Why the object ``name`` may never be deleted (a message for the caller), or None."""

    async def delete(self, kind: kinds.Kind, message: Any, revision: int) -> api_pb2.DeleteResponse:
        """Delete the stored ``message`` (at ``revision``). Raises the store's ConflictError when
        the object changed meanwhile; the registry reads it again and retries."""


class NamespaceDeleter:
    """Deleting a Namespace marks it Terminating, deletes everything in it, then the namespace
    itself; while anything in it waits for finalizers the namespace stays, Terminating (a later
    delete continues). Built-in namespaces are never deleted."""

    def __init__(self, store: Store, clock: Clock, delete_object: DeleteObject) -> None:
        self._store = store
        self._clock = clock
        self._delete_object = delete_object

    def refusal(self, name: str) -> str | None:
        if name in namespaces.BUILT_IN:
            return f"namespace/{name}: this namespace may not be deleted"
        return None

    async def delete(self, kind: kinds.Kind, message: Any, revision: int) -> api_pb2.DeleteResponse:
        ns = message
        key = kind.key("", ns.metadata.name)
        if ns.status.phase != "Terminating":
            ns.status.phase = "Terminating"
            set_timestamp(ns.metadata.deletion_timestamp, self._clock.now())
            revision = await self._store.update(key, codec.encode(ns), expected_revision=revision)
        remaining = 0
        for contained in kinds.KINDS:
            if not contained.namespaced:
                continue
            listing = await self._store.range(contained.prefix(ns.metadata.name))
            for kv in listing.items:
                name = kv.key.rsplit("/", 1)[1]
                request = api_pb2.DeleteRequest(kind=contained.name, namespace=ns.metadata.name, name=name)
                try:
                    response = await self._delete_object(request)
                except NotFoundError:
                    continue
                remaining += 0 if response.deleted else 1
        if remaining:
            ns.metadata.resource_version = revision
            return api_pb2.DeleteResponse(object=kind.wrap(ns), deleted=False)
        revision = await self._store.delete(key, expected_revision=revision)
        ns.metadata.resource_version = revision
        return api_pb2.DeleteResponse(object=kind.wrap(ns), deleted=True)


# Events are written once and read back by nobody who writes them, and they are the most
# numerous objects: keeping their newest copies would cost memory and save no read.
LATEST_NOT_KEPT = frozenset({event_kind.KIND.name})

DELETERS: dict[str, Callable[[Store, Clock, DeleteObject], Deleter]] = {
    namespace_kind.KIND.name: NamespaceDeleter,
}
