"""The typed asyncio client of the ``atoll.v1.Objects`` service, and the informer primitive.

Every method takes kind names as users type them (``pod``, ``pods``, ``po``, ``Pod``; see
``atoll.kinds.lookup``) and ignores ``namespace`` for cluster-scoped kinds. Failures surface as
``ApiError`` carrying the gRPC status code and a one-line message; nothing else escapes except
``atoll.kinds.UnknownKindError`` for a kind name that does not exist.

Retries: idempotent calls (get, list, watch (re)connects) retry ``UNAVAILABLE`` with capped
exponential backoff; writes (create, update, delete, apply, bind) never retry, because a write
that reached the server before the connection broke must not be repeated blindly. Given several
API servers, the client holds one channel over all of them: a retried call and a resumed watch
go to a server that is up (atoll/server_addresses.py).

Usage::

    async with Client.connect("127.0.0.1:7443") as client:
        pod = await client.get("po", "web")
        async for event in client.list_then_watch("pods"):
            ...
"""

from __future__ import annotations

import asyncio
import builtins
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar, cast

import grpc
import grpc.aio

from atoll import kinds
from atoll.config import ClientConfig
from atoll.ports import Writable
from atoll.server_addresses import channel_target
from atoll.sessions import SessionStream
from atoll.v1 import (
    access_pb2,
    access_pb2_grpc,
    agent_pb2,
    agent_pb2_grpc,
    api_pb2,
    api_pb2_grpc,
    object_pb2,
    version_pb2,
    version_pb2_grpc,
)
from atoll.watch_events import ADDED, BOOKMARK, DELETED, RESYNC, SYNCED

if TYPE_CHECKING:
    from atoll.v1.api_pb2_grpc import ObjectsAsyncStub

MIB = 1024 * 1024
# Keepalive pings detect dead connections under long idle watches. The server must allow pings
# this often (grpc.http2.min_ping_interval_without_data_ms <= 60000), or it answers with GOAWAY.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", 64 * MIB),
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
)


Sleep = Callable[[float], Awaitable[None]]
_Request = TypeVar("_Request")
_Response = TypeVar("_Response")

# How kubectl names each status in "Error from server (Reason): ...".
_REASONS = {
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.ABORTED: "Conflict",
    grpc.StatusCode.INVALID_ARGUMENT: "Invalid",
    grpc.StatusCode.OUT_OF_RANGE: "Expired",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "TooManyRequests",
    grpc.StatusCode.PERMISSION_DENIED: "Forbidden",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthorized",
    grpc.StatusCode.UNAVAILABLE: "ServiceUnavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "Timeout",
}


class ApiError(Exception):
    """A call failed. ``code`` is the gRPC status; ``message`` is one line for people.

    ``problems`` keeps each line of the server's details (INVALID_ARGUMENT sends one line per
    problem, e.g. ``pod/web: spec.containers[0].image: required``); ``message`` joins them with "; ".
    """

    def __init__(self, code: grpc.StatusCode, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = tuple(problems)

    @classmethod
    def from_rpc(cls, err: grpc.RpcError) -> ApiError:
        """The ApiError for a failed gRPC call (``grpc.aio.AioRpcError`` or a sync ``grpc.Call``)."""
        code_of = getattr(err, "code", None)
        details_of = getattr(err, "details", None)
        code = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
        details = (details_of() if callable(details_of) else None) or ""
        problems = [line.strip() for line in str(details).splitlines() if line.strip()]
        message = "; ".join(problems) or code.name.lower().replace("_", " ")
        return cls(code, message, problems)

    @property
    def reason(self) -> str:
        """The kubectl-style reason word: NotFound, AlreadyExists, Conflict, Invalid, ..."""
        return _REASONS.get(self.code, self.code.name.title().replace("_", ""))


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: ``initial * multiplier**attempt`` seconds, at most ``maximum``,
    shortened by up to ``jitter`` (a fraction) at random so that many clients do not retry in step.
    ``attempts`` is the total number of tries of one idempotent call before its error surfaces."""

    initial: float = 0.1
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2
    attempts: int = 6

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based)."""
        base = min(self.maximum, self.initial * self.multiplier**attempt)
        return base * (1.0 - self.jitter * random.random())


def _unwrap_kind(obj: Writable) -> object_pb2.Object:
    """Accept either an ``Object`` envelope or a bare kind message (a Pod, a Node, ...)."""
    if isinstance(obj, object_pb2.Object):
        return obj
    for kind in kinds.KINDS:
        if isinstance(obj, kind.message):
            return kind.wrap(obj)
    raise TypeError(f"{type(obj).__name__} is not an atoll API kind")


def _object_key(obj: object_pb2.Object) -> tuple[str, str]:
    meta = kinds.unwrap(obj).metadata
    return (meta.namespace, meta.name)


class Client:
    """One connection to the API server. Coroutine-safe; close it (or use ``async with``)."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        server: str = "",
        token: str | None = None,
        timeout: float | None = 30.0,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Wrap an open channel. ``timeout`` bounds each unary call (None: no deadline); watches
        have none. ``sleep`` is injectable so tests can run backoff in virtual time."""
        self.server = server
        self._channel = channel
        self._stub = cast("ObjectsAsyncStub", api_pb2_grpc.ObjectsStub(channel))
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout
        self._backoff = backoff or Backoff()
        self._sleep = sleep

    @classmethod
    def connect(
        cls,
        server: str | ClientConfig,
        *,
        timeout: float | None = 30.0,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> Client:
        """Open a channel to ``server`` (``HOST:PORT``, a comma list of them, or a ClientConfig);
        does not wait for it. Several servers share one channel that fails over between them
        (atoll/server_addresses.py); ServerAddressError when one of their names does not resolve.

        With a ClientConfig whose ``ca`` is set the channel uses TLS (mutual when ``cert`` and
        ``key`` are set too) and ``token`` is sent with every call. Call it inside a running event
        loop (grpc.aio binds the channel to it).
        """
        config = server if isinstance(server, ClientConfig) else ClientConfig(server=server)
        target, failover = channel_target(config.servers, tls=bool(config.ca))
        options = [*CHANNEL_OPTIONS, *failover]
        if config.ca:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=Path(config.ca).read_bytes(),
                private_key=Path(config.key).read_bytes() if config.key and config.cert else None,
                certificate_chain=Path(config.cert).read_bytes() if config.key and config.cert else None,
            )
            channel = grpc.aio.secure_channel(target, credentials, options=options)
        else:
            channel = grpc.aio.insecure_channel(target, options=options)
        return cls(channel, server=config.server, token=config.token, timeout=timeout, backoff=backoff, sleep=sleep)

    async def close(self) -> None:
        """Close the channel; calls in flight fail with CANCELLED."""
        await self._channel.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- unary verbs --------------------------------------------------------------------------

    async def create(self, obj: Writable) -> object_pb2.Object:
        """Create ``obj``; ALREADY_EXISTS if the name is taken. Never retried."""
        request = api_pb2.CreateRequest(object=_unwrap_kind(obj))
        return await self._unary(self._stub.Create, request, idempotent=False)

    async def batch_create(self, objects: Sequence[Writable]) -> api_pb2.BatchCreateResponse:
        """Create many objects in one call; one result per object, in order (each succeeds or fails
        alone: ``code`` "OK" or the status code name). Never retried."""
        request = api_pb2.BatchCreateRequest(objects=[_unwrap_kind(obj) for obj in objects])
        return await self._unary(self._stub.BatchCreate, request, idempotent=False)

    async def get(self, kind: str, name: str, namespace: str = "default") -> object_pb2.Object:
        """One object; NOT_FOUND when absent."""
        found = kinds.lookup(kind)
        request = api_pb2.GetRequest(kind=found.name, namespace=_scope(found, namespace), name=name)
        return await self._unary(self._stub.Get, request, idempotent=True)

    async def list(
        self,
        kind: str,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
    ) -> api_pb2.ListResponse:
        """One page of objects (``namespace`` empty: every namespace); follow ``continue``."""
        found = kinds.lookup(kind)
        request = api_pb2.ListRequest(
            kind=found.name,
            namespace=_scope(found, namespace),
            label_selector=label_selector,
            field_selector=field_selector,
            limit=limit,
            **{"continue": continue_},
        )
        return await self._unary(self._stub.List, request, idempotent=True)

    async def list_all(
        self,
        kind: str,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 500,
    ) -> tuple[builtins.list[object_pb2.Object], int]:
        """Every matching object, fetched ``limit`` at a time, and the snapshot revision of the list.

        All pages come from one snapshot; if it is compacted between pages the call fails with
        OUT_OF_RANGE (list_then_watch relists on its own).
        """
        items: builtins.list[object_pb2.Object] = []
        token = ""
        while True:
            page = await self.list(kind, namespace, label_selector, field_selector, limit, token)
            items.extend(page.items)
            token = getattr(page, "continue")
            if not token:
                return items, page.resource_version

    async def update(self, obj: Writable) -> object_pb2.Object:
        """Replace spec and metadata; ABORTED unless ``metadata.resource_version`` is current (0: any)."""
        request = api_pb2.UpdateRequest(object=_unwrap_kind(obj))
        return await self._unary(self._stub.Update, request, idempotent=False)

    async def update_status(self, obj: Writable) -> object_pb2.Object:
        """Replace status only; same revision rule as update."""
        request = api_pb2.UpdateRequest(object=_unwrap_kind(obj))
        return await self._unary(self._stub.UpdateStatus, request, idempotent=False)

    async def batch_update_status(self, objects: Sequence[Writable]) -> api_pb2.BatchUpdateStatusResponse:
        """Replace the status of many objects in one call, each as update_status would; one result
        per object, in order (``code`` "OK" with the stored ``object``, or the status code name).
        Never retried."""
        request = api_pb2.BatchUpdateStatusRequest(objects=[_unwrap_kind(obj) for obj in objects])
        return await self._unary(self._stub.BatchUpdateStatus, request, idempotent=False)

    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str = "default",
        precondition_resource_version: int = 0,
        propagation_policy: str = "",
    ) -> api_pb2.DeleteResponse:
        """Delete one object. ``deleted`` is False when finalizers keep it (deletion_timestamp set)."""
        found = kinds.lookup(kind)
        request = api_pb2.DeleteRequest(
            kind=found.name,
            namespace=_scope(found, namespace),
            name=name,
            precondition_resource_version=precondition_resource_version,
            propagation_policy=propagation_policy,
        )
        return await self._unary(self._stub.Delete, request, idempotent=False)

    async def apply(self, obj: Writable) -> api_pb2.ApplyResponse:
        """Create or update to match ``obj``; ``result`` is created, configured or unchanged."""
        request = api_pb2.ApplyRequest(object=_unwrap_kind(obj))
        return await self._unary(self._stub.Apply, request, idempotent=False)

    async def server_version(self) -> version_pb2.VersionInfo:
        """The API server's build (its Version service, open to every caller)."""
        stub = version_pb2_grpc.VersionStub(self._channel)
        return await self._unary(stub.Get, version_pb2.VersionRequest(), idempotent=True)  # type: ignore[arg-type]

    async def bind(self, bindings: Sequence[api_pb2.Binding]) -> api_pb2.BindResponse:
        """Bind workloads to nodes; one result per binding, in order (each succeeds or fails alone)."""
        request = api_pb2.BindRequest(bindings=list(bindings))
        return await self._unary(self._stub.Bind, request, idempotent=False)

    # -- streams ------------------------------------------------------------------------------

    async def logs(self, request: agent_pb2.LogsRequest) -> AsyncIterator[tuple[str, ...]]:
        """Lines of a pod's container or a VM's console, in chunks, through the API server (which
        asks the node's agent); with ``request.follow`` until the workload ends. Errors surface as
        ApiError (NOT_FOUND, FAILED_PRECONDITION when unscheduled, PERMISSION_DENIED, ...)."""
        stub = cast("agent_pb2_grpc.LogsAsyncStub", agent_pb2_grpc.LogsStub(self._channel))
        try:
            async for chunk in stub.Read(request, metadata=self._metadata):
                yield tuple(chunk.lines)
        except grpc.aio.AioRpcError as err:
            raise ApiError.from_rpc(err) from None

    async def open_session(self, start: access_pb2.SessionStart) -> SessionStream:
        """Open a session into a workload (exec, attach, console, port-forward; atoll/sessions.py)
        through the API server; returns once the remote side started. ApiError when it is refused
        (PERMISSION_DENIED, NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, ...). Cancel it
        (``SessionStream.cancel``) to hang up."""
        stub = cast("access_pb2_grpc.SessionsAsyncStub", access_pb2_grpc.SessionsStub(self._channel))
        call = stub.Stream(metadata=self._metadata)
        session = SessionStream(call, ApiError.from_rpc)
        try:
            await session.started(start)
        except BaseException:
            call.cancel()
            raise
        return session

    async def watch(
        self,
        kind: str,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        resource_version: int = 0,
        allow_bookmarks: bool = False,
    ) -> AsyncIterator[api_pb2.WatchEvent]:
        """Every change after ``resource_version``, one event at a time (server batches flattened).

        ``resource_version`` 0 first yields ADDED for each existing object. A broken connection
        (UNAVAILABLE) is re-established with backoff, resuming after the last event seen; when
        started from 0 with events already delivered there is no exact resume point, so the
        error surfaces instead. OUT_OF_RANGE (revision compacted) surfaces as ApiError: relist.
        The iterator ends when the server closes the stream.
        """
        found = kinds.lookup(kind)
        last = resource_version
        delivered = False
        attempt = 0
        while True:
            request = api_pb2.WatchRequest(
                kind=found.name,
                namespace=_scope(found, namespace),
                label_selector=label_selector,
                field_selector=field_selector,
                resource_version=last,
                allow_bookmarks=allow_bookmarks,
            )
            call = self._stub.Watch(request, metadata=self._metadata)
            try:
                async for response in call:
                    attempt = 0
                    for event in response.events:
                        delivered = True
                        last = max(last, event.resource_version)
                        yield event
                return
            except grpc.aio.AioRpcError as err:
                await self._pause_or_raise(err, attempt, retry=resource_version > 0 or not delivered)
                attempt += 1
            finally:
                call.cancel()

    async def list_then_watch(
        self,
        kind: str,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
    ) -> AsyncIterator[api_pb2.WatchEvent]:
        """The informer primitive: a complete view first, then every change, forever.

        Sequence of events:

        1. ADDED for each object of a full list, then SYNCED (no object; ``resource_version`` is
           the list's revision). From here the consumer's cache is complete.
        2. ADDED / MODIFIED / DELETED as the watch (from the list revision) reports them.
           BOOKMARKs are consumed here and not yielded.
        3. If the watch falls behind compaction (OUT_OF_RANGE) the objects are listed again and
           the consumer sees RESYNC, then ADDED for every object of the new list (an upsert for
           objects it already knew), DELETED (with the last known object) for each object that
           vanished meanwhile, then SYNCED. Then back to 2.

        UNAVAILABLE never ends the stream: list and watch are retried with capped backoff until
        the server is back. A stream the server closes is re-opened from the last revision. Other
        errors surface as ApiError. Stop by breaking out of the loop or cancelling the task.
        """
        known: dict[tuple[str, str], object_pb2.Object] = {}
        first = True
        while True:
            items, revision = await self._retry_unavailable(
                lambda: self.list_all(kind, namespace, label_selector, field_selector, page_size)
            )
            if not first:
                yield api_pb2.WatchEvent(type=RESYNC, resource_version=revision)
            fresh = {_object_key(obj): obj for obj in items}
            for obj in items:
                yield api_pb2.WatchEvent(
                    type=ADDED, object=obj, resource_version=kinds.unwrap(obj).metadata.resource_version
                )
            for key, obj in known.items():
                if key not in fresh:
                    yield api_pb2.WatchEvent(type=DELETED, object=obj, resource_version=revision)
            known = fresh
            first = False
            yield api_pb2.WatchEvent(type=SYNCED, resource_version=revision)
            try:
                async for event in self._follow(kind, namespace, label_selector, field_selector, revision):
                    if event.type == DELETED:
                        known.pop(_object_key(event.object), None)
                    else:
                        known[_object_key(event.object)] = event.object
                    yield event
            except ApiError as err:
                if err.code != grpc.StatusCode.OUT_OF_RANGE:
                    raise

    async def _follow(
        self, kind: str, namespace: str, label_selector: str, field_selector: str, revision: int
    ) -> AsyncIterator[api_pb2.WatchEvent]:
        """Watch from ``revision`` forever: re-open closed streams, outlast UNAVAILABLE, drop
        bookmarks (keeping their revision). Raises ApiError for anything else, OUT_OF_RANGE too."""
        attempt = 0
        while True:
            received = False
            try:
                async for event in self.watch(
                    kind, namespace, label_selector, field_selector, revision, allow_bookmarks=True
                ):
                    received = True
                    attempt = 0
                    revision = max(revision, event.resource_version)
                    if event.type != BOOKMARK:
                        yield event
            except ApiError as err:
                if err.code != grpc.StatusCode.UNAVAILABLE:
                    raise
            if not received:  # failed or closed at once: do not spin against the server
                await self._sleep(self._backoff.delay(attempt))
                attempt += 1

    async def _retry_unavailable(self, call: Callable[[], Awaitable[_Response]]) -> _Response:
        """``call()`` until it does not fail with UNAVAILABLE (each call already retried briefly)."""
        attempt = 0
        while True:
            try:
                return await call()
            except ApiError as err:
                if err.code != grpc.StatusCode.UNAVAILABLE:
                    raise
                await self._sleep(self._backoff.delay(attempt))
                attempt += 1

    async def _unary(
        self,
        method: grpc.aio.UnaryUnaryMultiCallable[_Request, _Response],
        request: _Request,
        *,
        idempotent: bool,
    ) -> _Response:
        attempt = 0
        while True:
            try:
                return await method(request, timeout=self._timeout, metadata=self._metadata)
            except grpc.aio.AioRpcError as err:
                await self._pause_or_raise(err, attempt, retry=idempotent)
                attempt += 1

    async def _pause_or_raise(self, err: grpc.aio.AioRpcError, attempt: int, *, retry: bool) -> None:
        """Wait out the backoff after failed try ``attempt`` when ``retry`` is allowed, ``err`` is
        UNAVAILABLE and tries remain; otherwise raise ``err`` as ApiError."""
        if not retry or err.code() != grpc.StatusCode.UNAVAILABLE or attempt + 1 >= self._backoff.attempts:
            raise ApiError.from_rpc(err) from None
        await self._sleep(self._backoff.delay(attempt))


def _scope(kind: kinds.Kind, namespace: str) -> str:
    """The namespace to send: cluster-scoped kinds have none."""
    return namespace if kind.namespaced else ""
