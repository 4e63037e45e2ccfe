"""The garbage collector: deletes dependents whose owners are gone, and finishes foreground and
orphan deletions.

The API server already implements the request side of ``DeleteRequest.propagation_policy``
(controller/apiserver/registry.py): background deletes the owner at once; foreground leaves it
with a deletion timestamp and the finalizer ``foregroundDeletion``; orphan does the same with
``orphan``. This controller does the rest, as Kubernetes' garbage collector does:

- **Background** (and any dangling owner reference): an object whose owner references all point
  to objects that no longer exist (checked against the API, not only the cache, because caches of
  different kinds lag differently) is deleted. References to some missing owners while others
  remain are removed from the object instead.
- **Foreground**: every dependent of the owner is deleted (in foreground itself when it has
  dependents of its own); once no dependent with ``block_owner_deletion`` remains, the
  ``foregroundDeletion`` finalizer is removed and the API server deletes the owner.
- **Orphan**: the owner reference is removed from every dependent, then the ``orphan`` finalizer.

Work-queue keys are ``Kind:namespace/name``. The owner/dependent graph is kept in memory from the
informers of the kinds it watches (Deployment, Pod, VirtualMachine by default).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

import grpc

from atoll import kinds
from atoll.client import ApiError
from atoll.clock import Clock
from atoll.ports import ApiObject, Deleter, Getter, Updater, metadata_of
from atoll.v1 import meta_pb2
from atoll.watch_events import DELETED
from controller.runtime.informer import Handler, ObjectCache
from controller.runtime.keys import key_of
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

log = logging.getLogger(__name__)
NAME = "garbage-collector"
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"


class GcApi(Getter, Updater, Deleter, Protocol):
    """The API calls the garbage collector makes (``atoll.client.Client`` satisfies it)."""


def gc_key(kind: str, obj: ApiObject) -> str:
    return f"{kind}:{key_of(obj)}"


class GarbageCollector:
    name = NAME

    def __init__(
        self,
        api: GcApi,
        informers: Mapping[str, ObjectCache[ApiObject]],
        clock: Clock,
        queue: WorkQueue | None = None,
    ) -> None:
        """``informers`` maps kind names (Deployment, Pod, ...) to their informers."""
        self.api = api
        self.clock = clock
        self.queue = queue or WorkQueue(clock, name=NAME)
        self.informers = informers
        self._owner_of_uid: dict[str, str] = {}  # uid -> gc key, for every object cached
        self._dependents: dict[str, set[str]] = {}  # owner uid -> gc keys of its dependents
        for kind, informer in informers.items():
            informer.add_handler(self._handler(kind))

    # -- graph ------------------------------------------------------------------------------------

    def _handler(self, kind: str) -> Handler[ApiObject]:
        def on_event(event_type: str, obj: ApiObject, previous: ApiObject | None) -> None:
            if previous is not None:
                self._unlink(kind, previous)
            if event_type == DELETED:
                self._unlink(kind, obj)
                self._owner_of_uid.pop(obj.metadata.uid, None)
                for dependent in self._dependents.get(obj.metadata.uid, ()):
                    self.queue.add(dependent)
                for ref in obj.metadata.owner_references:
                    owner = self._owner_of_uid.get(ref.uid)
                    if owner is not None:
                        self.queue.add(owner)
                return
            self._link(kind, obj)
            meta = obj.metadata
            if meta.owner_references or meta.HasField("deletion_timestamp"):
                self.queue.add(gc_key(kind, obj))

        return on_event

    def _link(self, kind: str, obj: ApiObject) -> None:
        key = gc_key(kind, obj)
        self._owner_of_uid[obj.metadata.uid] = key
        for ref in obj.metadata.owner_references:
            self._dependents.setdefault(ref.uid, set()).add(key)

    def _unlink(self, kind: str, obj: ApiObject) -> None:
        key = gc_key(kind, obj)
        for ref in obj.metadata.owner_references:
            dependents = self._dependents.get(ref.uid)
            if dependents is not None:
                dependents.discard(key)
                if not dependents:
                    del self._dependents[ref.uid]

    def dependents_of(self, uid: str) -> list[tuple[str, ApiObject]]:
        """(kind, copy) of every cached object with an owner reference to ``uid``."""
        found: list[tuple[str, ApiObject]] = []
        for key in sorted(self._dependents.get(uid, ())):
            kind, object_key = key.split(":", 1)
            obj = self.informers[kind].get(object_key)
            if obj is not None:
                found.append((kind, obj))
        return found

    # -- reconcile --------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> Result | None:
        kind, object_key = key.split(":", 1)
        informer = self.informers.get(kind)
        obj = informer.get(object_key) if informer is not None else None
        if obj is None:
            return None
        finalizers = obj.metadata.finalizers
        if obj.metadata.HasField("deletion_timestamp"):
            if FOREGROUND_FINALIZER in finalizers:
                await self._finish_foreground(kind, obj)
            elif ORPHAN_FINALIZER in finalizers:
                await self._finish_orphan(kind, obj)
            return None
        if obj.metadata.owner_references:
            await self._collect_if_orphaned(kind, obj)
        return None

    async def _finish_foreground(self, kind: str, owner: ApiObject) -> None:
        blocking = 0
        for dependent_kind, dependent in self.dependents_of(owner.metadata.uid):
            ref = next(ref for ref in dependent.metadata.owner_references if ref.uid == owner.metadata.uid)
            blocking += 1 if ref.block_owner_deletion else 0
            if dependent.metadata.HasField("deletion_timestamp"):
                continue
            policy = "foreground" if self._dependents.get(dependent.metadata.uid) else "background"
            await self._delete(dependent_kind, dependent, policy)
        if blocking == 0:
            await self._remove_finalizer(owner, FOREGROUND_FINALIZER)

    async def _finish_orphan(self, kind: str, owner: ApiObject) -> None:
        uid = owner.metadata.uid
        for _, dependent in self.dependents_of(uid):
            kept = [ref for ref in dependent.metadata.owner_references if ref.uid != uid]
            del dependent.metadata.owner_references[:]
            dependent.metadata.owner_references.extend(kept)
            await self.api.update(dependent)
        await self._remove_finalizer(owner, ORPHAN_FINALIZER)

    async def _collect_if_orphaned(self, kind: str, obj: ApiObject) -> None:
        missing = [ref for ref in obj.metadata.owner_references if not await self._owner_exists(ref, obj)]
        if not missing:
            return
        if len(missing) == len(obj.metadata.owner_references):
            await self._delete(kind, obj, "background")
            return
        gone = {ref.uid for ref in missing}
        kept = [ref for ref in obj.metadata.owner_references if ref.uid not in gone]
        del obj.metadata.owner_references[:]
        obj.metadata.owner_references.extend(kept)
        await self.api.update(obj)

    async def _owner_exists(self, ref: meta_pb2.OwnerReference, dependent: ApiObject) -> bool:
        """True when the owner is cached, or the API has an object of that kind, name and uid."""
        if ref.uid in self._owner_of_uid:
            return True
        try:
            kind = kinds.lookup(ref.kind)
        except kinds.UnknownKindError:
            log.warning("%s: owner kind %r is unknown; leaving it alone", key_of(dependent), ref.kind)
            return True
        namespace = dependent.metadata.namespace if kind.namespaced else ""
        try:
            found = await self.api.get(kind.name, ref.name, namespace)
        except ApiError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        return metadata_of(found).uid == ref.uid

    async def _delete(self, kind: str, obj: ApiObject, policy: str) -> None:
        meta = obj.metadata
        try:
            await self.api.delete(
                kind, meta.name, meta.namespace, precondition_resource_version=meta.resource_version,
                propagation_policy=policy,
            )
        except ApiError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise

    async def _remove_finalizer(self, obj: ApiObject, finalizer: str) -> None:
        kept = [name for name in obj.metadata.finalizers if name != finalizer]
        del obj.metadata.finalizers[:]
        obj.metadata.finalizers.extend(kept)
        try:
            await self.api.update(obj)
        except ApiError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise

