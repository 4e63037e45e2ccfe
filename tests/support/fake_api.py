"""An in-process stand-in for the API that controllers call, for unit tests without gRPC.

It is the real Registry (defaults, validation, finalizers, optimistic concurrency) on a
MemoryStore; errors come out as ``atoll.client.ApiError`` with the server's code. Informers made
by ``informer(kind)`` are fed synchronously after every write, so a test sees a controller's
writes in its caches at once (no watch latency; the expectations race is tested separately).
"""

from __future__ import annotations

from typing import Any

from atoll import kinds
from atoll.client import ApiError
from atoll.clock import Clock
from atoll.v1 import api_pb2, namespace_pb2, object_pb2
from atoll.watch_events import ADDED, DELETED, SYNCED
from controller.apiserver import codec
from controller.apiserver import errors as server_errors
from controller.apiserver.namespaces import NamespaceIndex
from controller.apiserver.registry import PROTECTED_NAMESPACES, Registry
from controller.runtime.informer import Informer
from controller.store.memory import MemoryStore


class FakeApi:
    """create/get/update/update_status/delete/bind/list_all like ``atoll.client.Client``."""

    def __init__(self, clock: Clock) -> None:
        self.store = MemoryStore()
        self.registry = Registry(self.store, NamespaceIndex(self.store), clock=clock)
        self.clock = clock
        self._informers: dict[str, list[Informer]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.fail_next: dict[str, ApiError] = {}
        # While held, informer updates queue up here (a watch that lags behind the writes).
        self.held: list[tuple[kinds.Kind, str, str]] | None = None
        self.held_kinds: frozenset[str] = frozenset()

    async def setup(self) -> FakeApi:
        for name in sorted(PROTECTED_NAMESPACES):
            namespace = namespace_pb2.Namespace()
            namespace.metadata.name, namespace.status.phase = name, "Active"
            await self.create(namespace)
        return self

    def informer(self, kind: str) -> Informer:
        """A synced informer of ``kind`` holding every object that exists now."""
        found = kinds.lookup(kind)

        async def no_source() -> Any:  # never run: fed by _publish
            raise AssertionError("fake informers are fed synchronously")
            yield  # pragma: no cover

        informer = Informer(found.name, no_source, self.clock)
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

    async def create(self, obj: Any) -> object_pb2.Object:
        wrapped = _wrap(obj)
        kind = kinds.of_object(wrapped)
        self._record("create", kind.name, kinds.unwrap(wrapped).metadata.name)
        message = await self._call(self.registry.create(wrapped))
        await self._publish(kind, message.metadata.namespace, message.metadata.name)
        return kind.wrap(message)

    async def get(self, kind: str, name: str, namespace: str = "default") -> object_pb2.Object:
        found = kinds.lookup(kind)
        stored = await self._call(self.registry.read(found, namespace, name))
        return found.wrap(stored.message)

    async def update(self, obj: Any) -> object_pb2.Object:
        return await self._update(obj, status_only=False)

    async def update_status(self, obj: Any) -> object_pb2.Object:
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
        response: api_pb2.DeleteResponse = await self._call(self.registry.delete(request))
        await self._publish(found, namespace if found.namespaced else "", name)
        return response

    async def bind(self, bindings: list[api_pb2.Binding]) -> api_pb2.BindResponse:
        results = []
        for binding in bindings:
            results.append(await self.registry.bind_one(binding))
            found = kinds.lookup(binding.kind)
            await self._publish(found, binding.namespace, binding.name)
        return api_pb2.BindResponse(results=results)

    async def list_all(self, kind: str, namespace: str = "") -> tuple[list[object_pb2.Object], int]:
        found = kinds.lookup(kind)
        listing = await self.store.range(found.prefix(namespace))
        items = [found.wrap(codec.decode(found, kv.value, kv.mod_revision)) for kv in listing.items]
        return items, listing.revision

    # -- internals ----------------------------------------------------------------------------------

    async def _update(self, obj: Any, *, status_only: bool) -> object_pb2.Object:
        wrapped = _wrap(obj)
        kind = kinds.of_object(wrapped)
        meta = kinds.unwrap(wrapped).metadata
        self._record("update_status" if status_only else "update", kind.name, meta.name)
        message = await self._call(self.registry.update(wrapped, status_only=status_only))
        await self._publish(kind, meta.namespace, meta.name)
        return kind.wrap(message)

    def _record(self, verb: str, kind: str, name: str) -> None:
        self.calls.append((verb, kind, name))
        failure = self.fail_next.pop(f"{verb} {kind}", None)
        if failure is not None:
            raise failure

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except server_errors.StatusError as err:
            raise ApiError(err.code, err.message) from None

    def hold_events(self, *kind_names: str) -> None:
        """Stop feeding informers of these kinds (default: all) until ``release_events``
        (simulates watch lag)."""
        self.held = []
        self.held_kinds = frozenset(kind_names)

    async def release_events(self) -> None:
        held, self.held = self.held or [], None
        for kind, namespace, name in held:
            await self._publish(kind, namespace, name)

    async def _publish(self, kind: kinds.Kind, namespace: str, name: str) -> None:
        if self.held is not None and (not self.held_kinds or kind.name in self.held_kinds):
            self.held.append((kind, namespace, name))
            return
        informers = self._informers.get(kind.name, [])
        if not informers:
            return
        ns = namespace if kind.namespaced else ""
        kv = await self.store.get(kind.key(ns or "default", name))
        for informer in informers:
            if kv is None:
                key = f"{ns}/{name}" if ns else name
                cached = informer.get(key)
                if cached is not None:
                    informer.apply(api_pb2.WatchEvent(type=DELETED, object=kind.wrap(cached)))
            else:
                message = codec.decode(kind, kv.value, kv.mod_revision)
                informer.apply(api_pb2.WatchEvent(type="MODIFIED", object=kind.wrap(message)))

    def count(self, verb: str, kind: str) -> int:
        return sum(1 for call in self.calls if call[0] == verb and call[1] == kind)


def _wrap(obj: Any) -> object_pb2.Object:
    if isinstance(obj, object_pb2.Object):
        copy = object_pb2.Object()
        copy.CopyFrom(obj)
        return copy
    for kind in kinds.KINDS:
        if isinstance(obj, kind.message):
            return kind.wrap(obj)
    raise TypeError(f"{type(obj).__name__} is not an API kind")
