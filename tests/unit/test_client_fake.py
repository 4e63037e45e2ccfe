"""A tiny in-memory ``atoll.v1.Objects`` servicer for client and CLI tests, plus tests of the fake.

It is deliberately not the real API server: it stores objects by (kind, namespace, name), pages
lists by offset, and lets a test script failures (``fail``, ``reject``) and watch streams (``watch_scripts``).
Each Watch call takes the next script; a script is a list of steps: a WatchResponse is sent, a
``Abort`` ends the call with that status, a callable runs (to change state mid-stream), and the
end of the script keeps the stream open until the client cancels it (``close_after`` ends it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from atoll import kinds
from atoll.client import Backoff, Client
from atoll.labels import parse_label_selector
from atoll.v1 import api_pb2, api_pb2_grpc, object_pb2
from tests.support.objects import make_pod


@dataclass(frozen=True)
class Abort:
    code: grpc.StatusCode
    details: str = ""


CLOSE = "close"  # a watch script step that ends the stream cleanly
WatchStep = api_pb2.WatchResponse | Abort | Callable[[], None] | str


def batch(*events: tuple[str, object_pb2.Object | None, int]) -> api_pb2.WatchResponse:
    """A WatchResponse from (type, object or None, revision) triples."""
    response = api_pb2.WatchResponse()
    for event_type, obj, revision in events:
        event = response.events.add(type=event_type, resource_version=revision)
        if obj is not None:
            event.object.CopyFrom(obj)
    return response


def key_of(obj: object_pb2.Object) -> tuple[str, str, str]:
    meta = kinds.unwrap(obj).metadata
    return (kinds.of_object(obj).name, meta.namespace, meta.name)


class FakeObjects(api_pb2_grpc.ObjectsServicer):
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], object_pb2.Object] = {}
        self.revision = 1
        self.requests: dict[str, list[Any]] = defaultdict(list)
        self.failures: dict[str, list[Abort]] = defaultdict(list)
        self.watch_scripts: list[list[WatchStep]] = []
        # method -> rule deciding per request whether to fail it (after scripted failures).
        self.reject: dict[str, Callable[[Any], Abort | None]] = {}

    # -- test helpers ---------------------------------------------------------------------------

    def put(self, obj: object_pb2.Object) -> object_pb2.Object:
        """Store ``obj`` at a new revision (as a create or update would)."""
        self.revision += 1
        stored = object_pb2.Object()
        stored.CopyFrom(obj)
        kinds.unwrap(stored).metadata.resource_version = self.revision
        self.objects[key_of(stored)] = stored
        return stored

    def remove(self, kind: str, namespace: str, name: str) -> None:
        self.revision += 1
        del self.objects[(kind, namespace, name)]

    def fail(self, method: str, code: grpc.StatusCode, details: str = "", times: int = 1) -> None:
        self.failures[method].extend([Abort(code, details)] * times)

    async def _enter(self, method: str, request: Any, context: Any) -> None:
        self.requests[method].append(request)
        if self.failures[method]:
            failure = self.failures[method].pop(0)
            await context.abort(failure.code, failure.details)
        rule = self.reject.get(method)
        verdict = rule(request) if rule else None
        if verdict is not None:
            await context.abort(verdict.code, verdict.details)

    # -- servicer -------------------------------------------------------------------------------

    async def Create(self, request: Any, context: Any) -> object_pb2.Object:
        await self._enter("Create", request, context)
        if key_of(request.object) in self.objects:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, "already exists")
        return self.put(request.object)

    async def BatchCreate(self, request: Any, context: Any) -> api_pb2.BatchCreateResponse:
        await self._enter("BatchCreate", request, context)
        results = []
        for obj in request.objects:
            if key_of(obj) in self.objects:
                results.append(api_pb2.CreateResult(code="ALREADY_EXISTS", message="already exists"))
            else:
                revision = kinds.unwrap(self.put(obj)).metadata.resource_version
                results.append(api_pb2.CreateResult(code="OK", resource_version=revision))
        return api_pb2.BatchCreateResponse(results=results)

    async def Get(self, request: Any, context: Any) -> object_pb2.Object:
        await self._enter("Get", request, context)
        found = self.objects.get((request.kind, request.namespace, request.name))
        if found is None:
            plural = kinds.by_name(request.kind).plural
            await context.abort(grpc.StatusCode.NOT_FOUND, f'{plural} "{request.name}" not found')
        return found  # type: ignore[return-value]

    async def List(self, request: Any, context: Any) -> api_pb2.ListResponse:
        await self._enter("List", request, context)
        selector = parse_label_selector(request.label_selector)
        matching = [
            obj
            for (kind, namespace, _), obj in sorted(self.objects.items())
            if kind == request.kind
            and (not request.namespace or namespace == request.namespace)
            and selector.matches(kinds.unwrap(obj).metadata.labels)
        ]
        start = int(getattr(request, "continue") or 0)
        end = start + request.limit if request.limit else len(matching)
        token = str(end) if end < len(matching) else ""
        return api_pb2.ListResponse(items=matching[start:end], resource_version=self.revision, **{"continue": token})

    async def Update(self, request: Any, context: Any) -> object_pb2.Object:
        await self._enter("Update", request, context)
        return self.put(request.object)

    async def UpdateStatus(self, request: Any, context: Any) -> object_pb2.Object:
        await self._enter("UpdateStatus", request, context)
        return self.put(request.object)

    async def BatchUpdateStatus(self, request: Any, context: Any) -> api_pb2.BatchUpdateStatusResponse:
        await self._enter("BatchUpdateStatus", request, context)
        results = [api_pb2.UpdateStatusResult(code="OK", object=self.put(obj)) for obj in request.objects]
        return api_pb2.BatchUpdateStatusResponse(results=results)

    async def Delete(self, request: Any, context: Any) -> api_pb2.DeleteResponse:
        await self._enter("Delete", request, context)
        key = (request.kind, request.namespace, request.name)
        found = self.objects.get(key)
        if found is None:
            plural = kinds.by_name(request.kind).plural
            await context.abort(grpc.StatusCode.NOT_FOUND, f'{plural} "{request.name}" not found')
        assert found is not None
        meta = kinds.unwrap(found).metadata
        if meta.finalizers:
            meta.deletion_timestamp.FromSeconds(1_000)
            return api_pb2.DeleteResponse(object=self.put(found), deleted=False)
        self.remove(*key)
        return api_pb2.DeleteResponse(object=found, deleted=True)

    async def Apply(self, request: Any, context: Any) -> api_pb2.ApplyResponse:
        await self._enter("Apply", request, context)
        existing = self.objects.get(key_of(request.object))
        if existing is None:
            return api_pb2.ApplyResponse(object=self.put(request.object), result="created")
        candidate = object_pb2.Object()
        candidate.CopyFrom(request.object)
        kinds.unwrap(candidate).metadata.resource_version = kinds.unwrap(existing).metadata.resource_version
        if candidate == existing:
            return api_pb2.ApplyResponse(object=existing, result="unchanged")
        return api_pb2.ApplyResponse(object=self.put(request.object), result="configured")

    async def Bind(self, request: Any, context: Any) -> api_pb2.BindResponse:
        await self._enter("Bind", request, context)
        return api_pb2.BindResponse(results=[api_pb2.BindResult(code="OK") for _ in request.bindings])

    async def Watch(self, request: Any, context: Any) -> AsyncIterator[api_pb2.WatchResponse]:
        await self._enter("Watch", request, context)
        script = self.watch_scripts.pop(0) if self.watch_scripts else []
        for step in script:
            if isinstance(step, api_pb2.WatchResponse):
                yield step
            elif isinstance(step, Abort):
                await context.abort(step.code, step.details)
            elif step == CLOSE:
                return
            elif callable(step):
                step()
        await asyncio.Event().wait()  # open until the client cancels


class RecordingSleep:
    """An injectable sleep that records delays and returns at once (virtual time)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def serve_fake(
    backoff: Backoff | None = None,
) -> AsyncIterator[tuple[FakeObjects, Client, RecordingSleep]]:
    """A running fake server on a free port and a Client connected to it (closed afterwards)."""
    fake = FakeObjects()
    server = grpc.aio.server()
    api_pb2_grpc.add_ObjectsServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sleep = RecordingSleep()
    client = Client.connect(f"127.0.0.1:{port}", backoff=backoff or Backoff(jitter=0.0), sleep=sleep)
    try:
        yield fake, client, sleep
    finally:
        await client.close()
        await server.stop(grace=None)


def names(objects: Sequence[object_pb2.Object]) -> list[str]:
    return [kinds.unwrap(obj).metadata.name for obj in objects]


async def test_the_fake_pages_lists_by_offset_with_a_continue_token() -> None:
    async with serve_fake() as (fake, client, _):
        for name in ("a", "b", "c"):
            fake.put(make_pod(name))
        first = await client.list("pods", limit=2)
        second = await client.list("pods", limit=2, continue_=getattr(first, "continue"))
    assert names(first.items) == ["a", "b"]
    assert names(second.items) == ["c"]
    assert getattr(second, "continue") == ""


async def test_the_fake_runs_a_watch_script_then_holds_the_stream_open() -> None:
    async with serve_fake() as (fake, client, _):
        fake.watch_scripts.append([batch(("ADDED", make_pod("a"), 7))])
        events = client.watch("pods")
        first = await anext(events)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(anext(events), 0.2)
            raise AssertionError("the stream should stay open after its script")
        await events.aclose()  # type: ignore[attr-defined]
    assert (first.type, first.resource_version) == ("ADDED", 7)
