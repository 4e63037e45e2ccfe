"""The atoll.v1.Objects servicer: one method per RPC, each raising StatusError for what the caller
did wrong; handlers.py decodes requests and maps StatusError to its status code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from atoll import kinds
from atoll.kinds import Kind
from atoll.v1 import api_pb2, object_pb2
from controller.apiserver import listing
from controller.apiserver.errors import InvalidError, StatusError
from controller.apiserver.objectref import effective_namespace
from controller.apiserver.registry import Registry
from controller.apiserver.watch_stream import WatchStreamer
from controller.store.protocol import Store

Context = grpc.aio.ServicerContext[Any, Any]

# Bindings in one Bind call, objects in one BatchCreate or BatchUpdateStatus call; more is
# INVALID_ARGUMENT.
MAX_BINDINGS_PER_CALL = 10_000
MAX_OBJECTS_PER_CALL = 10_000


class ObjectsService:
    """Implements every Objects RPC; see proto/atoll/v1/api.proto for the contracts."""

    def __init__(self, store: Store, registry: Registry, watches: WatchStreamer) -> None:
        self._store = store
        self._registry = registry
        self._watches = watches

    async def Create(self, request: api_pb2.CreateRequest, context: Context) -> object_pb2.Object:
        await self._registry.create(request.object)  # stamps request.object in place
        return request.object

    async def BatchCreate(self, request: api_pb2.BatchCreateRequest, context: Context) -> api_pb2.BatchCreateResponse:
        if len(request.objects) > MAX_OBJECTS_PER_CALL:
            raise InvalidError(f"objects: at most {MAX_OBJECTS_PER_CALL} per call, got {len(request.objects)}")
        response = api_pb2.BatchCreateResponse()
        await asyncio.gather(*(self._create_one(obj, response.results.add()) for obj in request.objects))
        return response

    async def _create_one(self, obj: object_pb2.Object, result: api_pb2.CreateResult) -> None:
        """Create's outcome into ``result`` (its slot in the response, in request order); a user
        error is this object's result, not the call's."""
        try:
            created = await self._registry.create(obj)
        except StatusError as error:
            result.code, result.message = error.code.name, error.message
            return
        result.code, result.resource_version = "OK", created.metadata.resource_version

    async def Get(self, request: api_pb2.GetRequest, context: Context) -> object_pb2.Object:
        kind = _kind(request.kind)
        stored = await self._registry.read(kind, request.namespace, request.name)
        return kind.wrap(stored.message)

    async def List(self, request: api_pb2.ListRequest, context: Context) -> api_pb2.ListResponse:
        kind = _kind(request.kind)
        prefix = kind.prefix(request.namespace if kind.namespaced else "")
        return await listing.list_page(self._store, kind, request, prefix)

    async def Update(self, request: api_pb2.UpdateRequest, context: Context) -> object_pb2.Object:
        updated = await self._registry.update(request.object)
        return kinds.of_object(request.object).wrap(updated)

    async def UpdateStatus(self, request: api_pb2.UpdateRequest, context: Context) -> object_pb2.Object:
        updated = await self._registry.update(request.object, status_only=True)
        return kinds.of_object(request.object).wrap(updated)

    async def BatchUpdateStatus(
        self, request: api_pb2.BatchUpdateStatusRequest, context: Context
    ) -> api_pb2.BatchUpdateStatusResponse:
        if len(request.objects) > MAX_OBJECTS_PER_CALL:
            raise InvalidError(f"objects: at most {MAX_OBJECTS_PER_CALL} per call, got {len(request.objects)}")
        response = api_pb2.BatchUpdateStatusResponse()
        await asyncio.gather(*(self._update_status_one(obj, response.results.add()) for obj in request.objects))
        return response

    async def _update_status_one(self, obj: object_pb2.Object, result: api_pb2.UpdateStatusResult) -> None:
        """UpdateStatus's outcome into ``result`` (its slot in the response, in request order: no
        result or object is copied into a response afterwards); a user error is this object's
        result, not the call's."""
        try:
            updated = await self._registry.update(obj, status_only=True)
        except StatusError as error:
            result.code, result.message = error.code.name, error.message
            return
        result.code = "OK"
        getattr(result.object, kinds.of_object(obj).field).CopyFrom(updated)

    async def Delete(self, request: api_pb2.DeleteRequest, context: Context) -> api_pb2.DeleteResponse:
        return await self._registry.delete(request)

    async def Apply(self, request: api_pb2.ApplyRequest, context: Context) -> api_pb2.ApplyResponse:
        return await self._registry.apply(request.object)

    async def Bind(self, request: api_pb2.BindRequest, context: Context) -> api_pb2.BindResponse:
        if len(request.bindings) > MAX_BINDINGS_PER_CALL:
            raise InvalidError(f"bindings: at most {MAX_BINDINGS_PER_CALL} per call, got {len(request.bindings)}")
        results = await asyncio.gather(*(self._registry.bind_one(binding) for binding in request.bindings))
        return api_pb2.BindResponse(results=results)

    def Watch(self, request: api_pb2.WatchRequest, context: Context) -> AsyncIterator[bytes]:
        """Streams pre-serialized WatchResponses (the handler's serializer passes bytes through).
        Returns the streamer's iterator itself, not a generator re-yielding it: every response
        to every watcher would pass one more frame. A bad kind raises here, at the call."""
        kind = _kind(request.kind)
        namespace = effective_namespace(kind, request.namespace) if request.namespace else ""
        return self._watches.stream(kind, namespace, request)


def _kind(name: str) -> Kind:
    try:
        return kinds.lookup(name)
    except kinds.UnknownKindError as exc:
        raise InvalidError(f"kind: {exc}") from None
