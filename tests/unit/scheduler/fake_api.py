"""FakeApi: a scriptable in-memory stand-in for the Objects service, shaped like ApiPort.

Writes bump one global revision and are echoed to the watchers like a real server does;
``bind_script`` forces result codes for the next bindings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from atoll import kinds
from atoll.v1 import api_pb2, object_pb2


class FakeApi:
    def __init__(self) -> None:
        self.revision = 1
        self.objects: dict[tuple[str, str, str], object_pb2.Object] = {}
        self.events: list[object_pb2.Object] = []
        self.bind_calls: list[list[api_pb2.Binding]] = []
        self.deleted: list[tuple[str, str, str]] = []
        self.status_updates: list[object_pb2.Object] = []
        self.bind_script: list[str] = []
        self._watchers: dict[str, list[asyncio.Queue[api_pb2.WatchEvent]]] = {}

    # -- test helpers -------------------------------------------------------------------------

    def put(self, message: object) -> object_pb2.Object:
        """Create or replace an object (as another client would) and notify watchers."""
        kind = next(k for k in kinds.KINDS if isinstance(message, k.message))
        obj = kind.wrap(message)  # type: ignore[arg-type]
        key = self._key(kind.name, kinds.unwrap(obj).metadata.namespace, kinds.unwrap(obj).metadata.name)
        event_type = "MODIFIED" if key in self.objects else "ADDED"
        self._store(key, obj, event_type)
        return obj

    def get(self, kind: str, namespace: str, name: str) -> object_pb2.Object | None:
        return self.objects.get(self._key(kind, namespace, name))

    def event_reasons(self) -> list[tuple[str, str, str]]:
        return [(e.event.reason, e.event.involved_object.name, e.event.message) for e in self.events]

    # -- ApiPort ------------------------------------------------------------------------------

    async def list_then_watch(self, kind: str) -> AsyncIterator[api_pb2.WatchEvent]:
        queue: asyncio.Queue[api_pb2.WatchEvent] = asyncio.Queue()
        self._watchers.setdefault(kind, []).append(queue)
        for key, obj in list(self.objects.items()):
            if key[0] == kind:
                yield api_pb2.WatchEvent(type="ADDED", object=obj)
        yield api_pb2.WatchEvent(type="SYNCED", resource_version=self.revision)
        while True:
            yield await queue.get()

    async def bind(self, bindings: Sequence[api_pb2.Binding]) -> api_pb2.BindResponse:
        self.bind_calls.append(list(bindings))
        results = []
        for binding in bindings:
            key = self._key(binding.kind, binding.namespace, binding.name)
            forced = self.bind_script.pop(0) if self.bind_script else ""
            current = self.objects.get(key)
            if forced:
                results.append(api_pb2.BindResult(code=forced, message=f"forced {forced}"))
            elif current is None:
                results.append(api_pb2.BindResult(code="NOT_FOUND", message="gone"))
            elif kinds.unwrap(current).spec.node_name:
                results.append(api_pb2.BindResult(code="ALREADY_BOUND", message="bound"))
            elif binding.expected_resource_version != kinds.unwrap(current).metadata.resource_version:
                results.append(api_pb2.BindResult(code="CONFLICT", message="stale"))
            else:
                bound = object_pb2.Object()
                bound.CopyFrom(current)
                kinds.unwrap(bound).spec.node_name = binding.node_name
                self._store(key, bound, "MODIFIED")
                results.append(api_pb2.BindResult(code="OK", resource_version=self.revision))
        return api_pb2.BindResponse(results=results)

    async def update_status(self, obj: object_pb2.Object) -> object_pb2.Object:
        self.status_updates.append(obj)
        meta = kinds.unwrap(obj).metadata
        key = self._key(kinds.of_object(obj).name, meta.namespace, meta.name)
        current = self.objects[key]
        updated = object_pb2.Object()
        updated.CopyFrom(current)
        kinds.unwrap(updated).status.CopyFrom(kinds.unwrap(obj).status)
        self._store(key, updated, "MODIFIED")
        return updated

    async def batch_create(self, objects: Sequence[object_pb2.Object]) -> api_pb2.BatchCreateResponse:
        self.events.extend(objects)
        return api_pb2.BatchCreateResponse(results=[api_pb2.CreateResult(code="OK") for _ in objects])

    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str = "default",
        precondition_resource_version: int = 0,
        propagation_policy: str = "",
    ) -> api_pb2.DeleteResponse:
        key = self._key(kind, namespace, name)
        self.deleted.append(key)
        obj = self.objects.pop(key)
        self.revision += 1
        self._notify(kind, api_pb2.WatchEvent(type="DELETED", object=obj, resource_version=self.revision))
        return api_pb2.DeleteResponse(object=obj, deleted=True)

    # -- internals ----------------------------------------------------------------------------

    def _key(self, kind: str, namespace: str, name: str) -> tuple[str, str, str]:
        return (kind, "" if kind == "Node" else namespace, name)

    def _store(self, key: tuple[str, str, str], obj: object_pb2.Object, event_type: str) -> None:
        self.revision += 1
        kinds.unwrap(obj).metadata.resource_version = self.revision
        self.objects[key] = obj
        self._notify(key[0], api_pb2.WatchEvent(type=event_type, object=obj, resource_version=self.revision))

    def _notify(self, kind: str, event: api_pb2.WatchEvent) -> None:
        for queue in self._watchers.get(kind, []):
            queue.put_nowait(event)
