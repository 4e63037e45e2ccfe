"""An in-process stand-in for the API, for unit tests of controllers and the scheduler without gRPC.

It is the real Registry (defaults, validation, finalizers, optimistic concurrency, bind) on a
MemoryStore; errors come out as ``atoll.client.ApiError`` with the server's code. It implements
every port of ``atoll.ports`` plus the scheduler's (``list_then_watch``, ``bind``,
``batch_create``), so one fake serves every component's tests.

Two ways to watch:
- ``informer(pod_pb2.Pod)``: an informer fed synchronously after every write, so a controller
  test sees the controller's writes in its caches at once (no watch latency; ``hold_events``
  simulates a lagging watch for the expectations race);
- ``list_then_watch(kind)``: the store's own watch, as a real client gets it (the scheduler).

Scripting: ``put`` stores an object as another client would, without validation (so a test can
hold what the server would now refuse); ``fail_next["verb Kind"]`` fails the next such call;
``bind_script`` forces the result codes of the next bindings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Protocol, TypeVar

from atoll import kinds
from atoll.client import ApiError
from atoll.clock import Clock
from atoll.ports import M, Writable, metadata_of
from atoll.v1 import api_pb2, namespace_pb2, object_pb2
from atoll.watch_events import ADDED, DELETED, MODIFIED, SYNCED
from controller.apiserver import codec
from controller.apiserver import errors as server_errors
from controller.apiserver.namespaces import NamespaceIndex
from controller.apiserver.registry import PROTECTED_NAMESPACES, Registry
from controller.runtime.informer import Informer, kind_of_message
from controller.store.memory import MemoryStore
from controller.store.protocol import EventType

T = TypeVar("T")


class _FedInformer(Protocol):
    """What the fake does with an informer of any kind."""

    def apply(self, event: api_pb2.WatchEvent) -> None: ...
    def contains(self, key: str) -> bool: ...


class FakeApi:
    """create/get/update/update_status/delete/bind/batch_create/list_all/list_then_watch like
    ``atoll.client.Client``."""

    def __init__(self, clock: Clock) -> None:
        self.store = MemoryStore()
        self.registry = Registry(self.store, NamespaceIndex(self.store), clock=clock)
        self.clock = clock
        self._informers: dict[str, list[_FedInformer]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.fail_next: dict[str, ApiError] = {}
        self.bind_script: list[str] = []
        self.bind_calls: list[list[api_pb2.Binding]] = []
        self.status_updates: list[object_pb2.Object] = []
        self.events: list[object_pb2.Object] = []  # every Event sent through batch_create
        self._latest: dict[tuple[str, str, str], object_pb2.Object] = {}  # (kind, namespace, name)
        # While held, informer updates queue up here (a watch that lags behind the writes).
        self.held: list[tuple[kinds.Kind, str, str]] | None = None
        self.held_kinds: frozenset[str] = frozenset()

    async def setup(self) -> FakeApi:
        for name in sorted(PROTECTED_NAMESPACES):
            namespace = namespace_pb2.Namespace()
            namespace.metadata.name, namespace.status.phase = name, "Active"
            await self.create(namespace)
        return self

    def informer(self, message_type: type[M]) -> Informer[M]:
        """A synced informer of ``message_type``'s kind; ``sync_informers`` loads what exists."""
        found = kind_of_message(message_type)

        async def no_source() -> AsyncIterator[api_pb2.WatchEvent]:  # never run: fed by _publish
            raise AssertionError("fake informers are fed synchronously")
            yield  # pragma: no cover

        informer = Informer(message_type, no_source, self.clock)
        self._informers.setdefault(found.name, []).append(informer)
        return informer

    async def sync_informers(self) -> None:
        """Load every informer with what the store holds and mark it synced."""
        for name, informers in self._informers.items():
            kind = kinds.by_name(name)
            listing = await self.store.range(kind.prefix())
            for informer in informers:
                for kv in listing.items:
                    message = codec.decode(kind, kv.value, kv.mod_revision)
                    informer.apply(api_pb2.WatchEvent(type=ADDED, object=kind.wrap(message)))
                informer.apply(api_pb2.WatchEvent(type=SYNCED))

    # -- verbs ------------------------------------------------------------------------------------

    async def create(self, obj: Writable) -> object_pb2.Object:
        wrapped = _wrap(obj)
        kind = kinds.of_object(wrapped)
        self._record("create", kind.name, metadata_of(wrapped).name)
        message = await self._call(self.registry.create(wrapped))
        await self._publish(kind, message.metadata.namespace, message.metadata.name)
        return kind.wrap(message)

    async def get(self, kind: str, name: str, namespace: str = "default") -> object_pb2.Object:
        found = kinds.lookup(kind)
        stored = await self._call(self.registry.read(found, namespace, name))
        return found.wrap(stored.message)

    async def update(self, obj: Writable) -> object_pb2.Object:
        return await self._update(obj, status_only=False)

    async def update_status(self, obj: Writable) -> object_pb2.Object:
        return await self._update(obj, status_only=True)

    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str = "default",
        precondition_resource_version: int = 0,
        propagation_policy: str = "",
    ) -> api_pb2.DeleteResponse:
        found = kinds.lookup(kind)
        self._record("delete", found.name, name)
        request = api_pb2.DeleteRequest(
            kind=found.name,
            namespace=namespace if found.namespaced else "",
            name=name,
            precondition_resource_version=precondition_resource_version,
            propagation_policy=propagation_policy,
        )
        response = await self._call(self.registry.delete(request))
        await self._publish(found, namespace if found.namespaced else "", name)
        return response

    async def bind(self, bindings: Sequence[api_pb2.Binding]) -> api_pb2.BindResponse:
        """The registry's bind, one result per binding; ``bind_script`` codes win while they last."""
        self.bind_calls.append(list(bindings))
        results = []
        for binding in bindings:
            forced = self.bind_script.pop(0) if self.bind_script else ""
            if forced:
                results.append(api_pb2.BindResult(code=forced, message=f"forced {forced}"))
                continue
            results.append(await self.registry.bind_one(binding))
            found = kinds.lookup(binding.kind)
            await self._publish(found, binding.namespace, binding.name)
        return api_pb2.BindResponse(results=results)

    async def batch_create(self, objects: Sequence[Writable]) -> api_pb2.BatchCreateResponse:
        """Create each object on its own; Events sent are kept in ``events``."""
        results = []
        for obj in objects:
            wrapped = _wrap(obj)
            if wrapped.HasField("event"):
                self.events.append(wrapped)
            try:
                created = await self.create(wrapped)
            except ApiError as err:
                results.append(api_pb2.CreateResult(code=err.code.name, message=err.message))
            else:
                revision = metadata_of(created).resource_version
                results.append(api_pb2.CreateResult(code="OK", resource_version=revision))
        return api_pb2.BatchCreateResponse(results=results)

    async def list_all(self, kind: str, namespace: str = "") -> tuple[list[object_pb2.Object], int]:
        found = kinds.lookup(kind)
        listing = await self.store.range(found.prefix(namespace))
        items = [found.wrap(codec.decode(found, kv.value, kv.mod_revision)) for kv in listing.items]
        return items, listing.revision

    async def list_then_watch(self, kind: str, namespace: str = "") -> AsyncIterator[api_pb2.WatchEvent]:
        """ADDED per existing object, SYNCED, then every change from the store's watch."""
        found = kinds.lookup(kind)
        prefix = found.prefix(namespace)
        listing = await self.store.range(prefix)
        for kv in listing.items:
            message = codec.decode(found, kv.value, kv.mod_revision)
            yield api_pb2.WatchEvent(type=ADDED, object=found.wrap(message), resource_version=kv.mod_revision)
        yield api_pb2.WatchEvent(type=SYNCED, resource_version=listing.revision)
        async for change in self.store.watch(prefix, listing.revision):
            message = codec.decode(found, change.kv.value, change.kv.mod_revision)
            if change.type == EventType.DELETE:
                event_type = DELETED
            else:
                event_type = ADDED if change.prev_value is None else MODIFIED
            yield api_pb2.WatchEvent(
                type=event_type, object=found.wrap(message), resource_version=change.kv.mod_revision
            )

    # -- scripting --------------------------------------------------------------------------------

    async def put(self, obj: Writable) -> object_pb2.Object:
        """Store ``obj`` as it is (created, or replacing the current object), skipping defaults
        and validation, as another client of an older server might have; returns what is stored."""
        wrapped = _wrap(obj)
        kind = kinds.of_object(wrapped)
        meta = metadata_of(wrapped)
        namespace = (meta.namespace or "default") if kind.namespaced else ""
        meta.namespace = namespace
        key = kind.key(namespace, meta.name)
        value = codec.encode(kinds.unwrap(wrapped))
        current = await self.store.get(key)
        if current is None:
            meta.resource_version = await self.store.create(key, value)
        else:
            meta.resource_version = await self.store.update(key, value)
        await self._publish(kind, namespace, meta.name)
        return wrapped

    def latest(self, kind: str, name: str, namespace: str = "default") -> object_pb2.Object | None:
        """The object as this fake last wrote it, or None; synchronous, for polling conditions."""
        found = kinds.lookup(kind)
        return self._latest.get((found.name, namespace if found.namespaced else "", name))

    def hold_events(self, *kind_names: str) -> None:
        """Stop feeding informers of these kinds (default: all) until ``release_events``
        (simulates watch lag)."""
        self.held = []
        self.held_kinds = frozenset(kind_names)

    async def release_events(self) -> None:
        held, self.held = self.held or [], None
        for kind, namespace, name in held:
            await self._publish(kind, namespace, name)

    def count(self, verb: str, kind: str) -> int:
        return sum(1 for call in self.calls if call[0] == verb and call[1] == kind)

    def event_reasons(self) -> list[tuple[str, str, str]]:
        """(reason, involved object's name, message) of every Event sent through batch_create."""
        return [(e.event.reason, e.event.involved_object.name, e.event.message) for e in self.events]

    # -- internals ----------------------------------------------------------------------------------

    async def _update(self, obj: Writable, *, status_only: bool) -> object_pb2.Object:
        wrapped = _wrap(obj)
        kind = kinds.of_object(wrapped)
        meta = metadata_of(wrapped)
        self._record("update_status" if status_only else "update", kind.name, meta.name)
        if status_only:
            self.status_updates.append(_wrap(wrapped))
        message = await self._call(self.registry.update(wrapped, status_only=status_only))
        await self._publish(kind, message.metadata.namespace, message.metadata.name)
        return kind.wrap(message)

    def _record(self, verb: str, kind: str, name: str) -> None:
        self.calls.append((verb, kind, name))
        failure = self.fail_next.pop(f"{verb} {kind}", None)
        if failure is not None:
            raise failure

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except server_errors.StatusError as err:
            raise ApiError(err.code, err.message) from None

    async def _publish(self, kind: kinds.Kind, namespace: str, name: str) -> None:
        """Refresh ``latest`` from the store, then feed the informers (unless held)."""
        ns = namespace if kind.namespaced else ""
        kv = await self.store.get(kind.key(ns or "default", name))
        if kv is None:
            self._latest.pop((kind.name, ns, name), None)
        else:
            self._latest[(kind.name, ns, name)] = kind.wrap(codec.decode(kind, kv.value, kv.mod_revision))
        if self.held is not None and (not self.held_kinds or kind.name in self.held_kinds):
            self.held.append((kind, namespace, name))
            return
        key = f"{ns}/{name}" if ns else name
        for informer in self._informers.get(kind.name, []):
            if kv is None:
                if informer.contains(key):
                    gone = kind.wrap(kind.message())
                    metadata_of(gone).namespace, metadata_of(gone).name = ns, name
                    informer.apply(api_pb2.WatchEvent(type=DELETED, object=gone))
            else:
                message = codec.decode(kind, kv.value, kv.mod_revision)
                informer.apply(api_pb2.WatchEvent(type=MODIFIED, object=kind.wrap(message)))


def _wrap(obj: Writable) -> object_pb2.Object:
    """A fresh ``Object`` envelope holding a copy of ``obj`` (a kind message or an envelope)."""
    if isinstance(obj, object_pb2.Object):
        copy = object_pb2.Object()
        copy.CopyFrom(obj)
        return copy
    for kind in kinds.KINDS:
        if isinstance(obj, kind.message):
            return kind.wrap(obj)
    raise TypeError(f"{type(obj).__name__} is not an API kind")
