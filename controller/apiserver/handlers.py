"""gRPC method handlers for atoll.v1.Objects, built from the service descriptor.

Like the generated ``add_ObjectsServicer_to_server`` with two differences:
- requests are decoded here, so a malformed request is INVALID_ARGUMENT with a one-line message
  instead of grpc's UNKNOWN with a logged traceback;
- Watch's response serializer passes pre-encoded bytes through (see wire.py), so one event is
  serialized once for all watchers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf import message_factory
from google.protobuf.message import DecodeError, Message

from atoll import kinds
from atoll.v1 import api_pb2
from controller.apiserver import metrics
from controller.apiserver.errors import StatusError
from controller.store.protocol import StoreUnavailableError

SERVICE_NAME = "atoll.v1.Objects"
_SERVICE = api_pb2.DESCRIPTOR.services_by_name["Objects"]
_PRE_ENCODED_STREAMS = frozenset({"Watch"})
Context = grpc.aio.ServicerContext[Any, Any]


class CallGuard(Protocol):
    """Runs around every decoded call (authentication, authorization, audit, limits; see
    controller/apiserver/auth/guard.py). It calls ``call()`` to run the servicer, or aborts."""

    async def unary(self, method: str, request: Any, context: Context, call: Callable[[], Awaitable[Any]]) -> Any: ...

    async def stream(
        self, method: str, request: Any, context: Context, call: Callable[[], AsyncIterator[Any]]
    ) -> AsyncIterator[Any]:
        """Admits the call (or aborts) before it returns; the iterator it returns runs ``call()``."""
        ...


def _identity(data: bytes) -> bytes:
    return data


async def _refuse_malformed(request_type: type[Message], context: Context) -> None:
    await context.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"request: not a valid {request_type.DESCRIPTOR.full_name} message (protobuf decode error)",
    )


def _parse(request_type: type[Message], raw: bytes) -> Any:
    """The decoded request, or None when the bytes are not one (synchronous: the per-call hot path)."""
    try:
        return request_type.FromString(raw)
    except DecodeError:
        return None


async def _abort(context: Context, error: Exception) -> None:
    """Ends the call with the status a user error maps to: one line, never a traceback."""
    if isinstance(error, StatusError):
        await context.abort(error.code, error.message)
    await context.abort(grpc.StatusCode.UNAVAILABLE, f"store unavailable: {error}")


def _request_kind(request: Any) -> str:
    """The kind a request is about, for metric labels ("" when it names none or an unknown one)."""
    if request.DESCRIPTOR.fields_by_name.get("object") is not None:
        field = request.object.WhichOneof("kind")
        return kinds.kind_of_field(field).name if field else ""
    name = getattr(request, "kind", "")
    try:
        return kinds.lookup(name).name if name else ""
    except kinds.UnknownKindError:
        return ""


def _failure_code(context: Context, error: BaseException) -> str:
    """The status code name a failed call ends with, for metrics."""
    if isinstance(error, StatusError):
        return error.code.name
    if isinstance(error, StoreUnavailableError):
        return "UNAVAILABLE"
    if isinstance(error, asyncio.CancelledError):
        return "CANCELLED"
    code = context.code() if hasattr(context, "code") else None  # set when a guard aborted
    return code.name if isinstance(code, grpc.StatusCode) else "INTERNAL"


async def _fail(context: Context, error: BaseException) -> None:
    """Answers a user error with its status; anything else propagates (cancellation, bugs)."""
    if isinstance(error, StatusError | StoreUnavailableError):
        await _abort(context, error)


UnaryCall = Callable[[Any, Context], Awaitable[Any]]
# A stream call admits (or aborts) when awaited, then yields: so HTTP can answer a refusal with its
# status code before it starts a streaming response.
StreamCall = Callable[[Any, Context], Awaitable[AsyncIterator[Any]]]


@dataclass(frozen=True)
class ObjectsCalls:
    """Every Objects method as a call on a *decoded* request: guard (authentication,
    authorization, audit, limits), servicer and metrics, in that order. The gRPC handlers decode
    and call these; the HTTP API (http/) builds the same requests and calls the same functions, so
    one code path decides for both. ``context`` needs what the guard asks of a grpc context:
    ``abort``, ``auth_context``, ``peer``, ``invocation_metadata``, ``code`` and ``details``."""

    unary: dict[str, UnaryCall]
    streams: dict[str, StreamCall]


def _unary_call(implementation: UnaryCall, guard: CallGuard | None = None, method: str = "") -> UnaryCall:
    # Metric children by label values: .labels() costs more than the observation itself.
    durations: dict[str, Any] = {}
    counts: dict[tuple[str, str], Any] = {}

    async def call(request: Any, context: Context) -> Any:
        kind = _request_kind(request)
        code = "OK"
        started = time.perf_counter()
        metrics.IN_FLIGHT.value += 1
        try:
            if guard is not None:
                return await guard.unary(method, request, context, lambda: implementation(request, context))
            return await implementation(request, context)
        except BaseException as error:
            code = _failure_code(context, error)
            await _fail(context, error)
            raise
        finally:
            metrics.IN_FLIGHT.value -= 1
            duration = durations.get(kind)
            if duration is None:
                duration = durations[kind] = metrics.REQUEST_DURATION.labels(method, kind)
            duration.observe(time.perf_counter() - started)
            count = counts.get((kind, code))
            if count is None:
                count = counts[(kind, code)] = metrics.REQUESTS.labels(method, kind, code)
            count.inc()

    return call


def _unary(request_type: type[Message], call: UnaryCall) -> Any:
    async def handle(raw: bytes, context: Context) -> Any:
        request = _parse(request_type, raw)
        if request is None:
            await _refuse_malformed(request_type, context)
        return await call(request, context)

    return handle


def _stream_call(
    implementation: Callable[[Any, Context], AsyncIterator[Any]], guard: CallGuard | None = None, method: str = ""
) -> StreamCall:
    async def open_stream(request: Any, context: Context) -> AsyncIterator[Any]:
        kind = _request_kind(request)
        try:
            if guard is not None:
                responses = await guard.stream(method, request, context, lambda: implementation(request, context))
            else:
                responses = implementation(request, context)
        except BaseException as error:
            metrics.REQUESTS.labels(method, kind, _failure_code(context, error)).inc()
            await _fail(context, error)
            raise
        return _counted(responses, context, method, kind)

    return open_stream


async def _counted(responses: AsyncIterator[Any], context: Context, method: str, kind: str) -> AsyncIterator[Any]:
    code = "OK"
    streams = metrics.WATCH_STREAMS.labels(kind)
    streams.inc()
    try:
        async for response in responses:
            yield response
    except BaseException as error:
        code = _failure_code(context, error)
        await _fail(context, error)
        raise
    finally:
        streams.dec()
        metrics.REQUESTS.labels(method, kind, code).inc()


def _stream(request_type: type[Message], call: StreamCall) -> Any:
    async def handle(raw: bytes, context: Context) -> AsyncIterator[Any]:
        request = _parse(request_type, raw)
        if request is None:
            await _refuse_malformed(request_type, context)
        async for response in await call(request, context):
            yield response

    return handle


def objects_calls(servicer: Any, guard: CallGuard | None = None) -> ObjectsCalls:
    """The calls of every Objects method on ``servicer``; with ``guard``, each runs inside it."""
    calls = ObjectsCalls({}, {})
    for method in _SERVICE.methods:
        implementation = getattr(servicer, method.name)
        if method.server_streaming:
            calls.streams[method.name] = _stream_call(implementation, guard, method.name)
        else:
            calls.unary[method.name] = _unary_call(implementation, guard, method.name)
    return calls


def objects_handlers(calls: ObjectsCalls) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in _SERVICE.methods:
        request_type = message_factory.GetMessageClass(method.input_type)
        response_type = message_factory.GetMessageClass(method.output_type)
        if method.server_streaming:
            serializer = _identity if method.name in _PRE_ENCODED_STREAMS else response_type.SerializeToString
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                _stream(request_type, calls.streams[method.name]),
                request_deserializer=_identity,
                response_serializer=serializer,
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _unary(request_type, calls.unary[method.name]),
                request_deserializer=_identity,
                response_serializer=response_type.SerializeToString,
            )
    return handlers


def add_objects_service(server: grpc.aio.Server, calls: ObjectsCalls) -> None:
    """Registers the Objects service answering with ``calls`` (``objects_calls``)."""
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, objects_handlers(calls)),))
