"""The atoll.v1.Objects gRPC servicer: decodes requests, calls the registry, maps errors to codes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from atoll import kinds
from atoll.kinds import Kind
from atoll.v1 import api_pb2, object_pb2
from controller.apiserver import listing
from controller.apiserver.errors import ApiError, InvalidError
from controller.apiserver.objectref import effective_namespace
from controller.apiserver.registry import Registry
from controller.apiserver.watch_stream import WatchStreamer
from controller.store.protocol import Store, StoreUnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")

# Bindings in one Bind call; more is RESOURCE_EXHAUSTED.
MAX_BINDINGS_PER_CALL = 10_000


class ObjectsService:
    """Implements every Objects RPC; see proto/atoll/v1/api.proto for the contracts."""

    def __init__(self, store: Store, registry: Registry, watches: WatchStreamer) -> None:
        self._store = store
        self._registry = registry
        self._watches = watches

    async def Create(
        self, request: api_pb2.CreateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> object_pb2.Object:
        async def call() -> object_pb2.Object:
            await self._registry.create(request.object)  # stamps request.object in place
            return request.object

        return await _answer(context, call)

    async def Get(self, request: api_pb2.GetRequest, context: grpc.aio.ServicerContext[Any, Any]) -> object_pb2.Object:
        async def call() -> object_pb2.Object:
            kind = _kind(request.kind)
            stored = await self._registry.read(kind, request.namespace, request.name)
            return kind.wrap(stored.message)

        return await _answer(context, call)

    async def List(
        self, request: api_pb2.ListRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ListResponse:
        async def call() -> api_pb2.ListResponse:
            kind = _kind(request.kind)
            prefix = kind.prefix(request.namespace if kind.namespaced else "")
            return await listing.list_page(self._store, kind, request, prefix)

        return await _answer(context, call)

    async def Update(
        self, request: api_pb2.UpdateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> object_pb2.Object:
        async def call() -> object_pb2.Object:
            updated = await self._registry.update(request.object)
            return kinds.of_object(request.object).wrap(updated)

        return await _answer(context, call)

    async def UpdateStatus(
        self, request: api_pb2.UpdateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> object_pb2.Object:
        async def call() -> object_pb2.Object:
            updated = await self._registry.update(request.object, status_only=True)
            return kinds.of_object(request.object).wrap(updated)

        return await _answer(context, call)

    async def Delete(
        self, request: api_pb2.DeleteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.DeleteResponse:
        return await _answer(context, lambda: self._registry.delete(request))

    async def Apply(
        self, request: api_pb2.ApplyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ApplyResponse:
        return await _answer(context, lambda: self._registry.apply(request.object))

    async def Bind(
        self, request: api_pb2.BindRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.BindResponse:
        async def call() -> api_pb2.BindResponse:
            if len(request.bindings) > MAX_BINDINGS_PER_CALL:
                raise InvalidError(f"bindings: at most {MAX_BINDINGS_PER_CALL} per call, got {len(request.bindings)}")
            results = await asyncio.gather(*(self._registry.bind_one(b) for b in request.bindings))
            return api_pb2.BindResponse(results=results)

        return await _answer(context, call)

    async def Watch(
        self, request: api_pb2.WatchRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[bytes]:
        """Streams pre-serialized WatchResponses (the handler's serializer passes bytes through)."""
        try:
            kind = _kind(request.kind)
            namespace = effective_namespace(kind, request.namespace) if request.namespace else ""
            async for chunk in self._watches.stream(kind, namespace, request):
                yield chunk
        except ApiError as error:
            await context.abort(error.code, error.message)
        except StoreUnavailableError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"store unavailable: {exc}")


def _kind(name: str) -> Kind:
    try:
        return kinds.lookup(name)
    except kinds.UnknownKindError as exc:
        raise InvalidError(f"kind: {exc}") from None


async def _answer(context: grpc.aio.ServicerContext[Any, Any], call: Callable[[], Awaitable[T]]) -> T:
    """Runs ``call``; user errors become their status code with a one-line message, never a traceback."""
    try:
        return await call()
    except ApiError as error:
        await context.abort(error.code, error.message)
    except StoreUnavailableError as exc:
        await context.abort(grpc.StatusCode.UNAVAILABLE, f"store unavailable: {exc}")
    raise AssertionError("context.abort returns only by raising")
