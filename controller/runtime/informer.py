"""Informers: a local cache of one kind, filled by list-then-watch and kept current.

Contract:
- ``run`` consumes ``source()`` (normally ``Client.list_then_watch``): a full list, SYNCED, then
  changes. A RESYNC (the watch fell behind compaction and the source relisted) or a restart of the
  source after an error is handled as a relist: objects the new list lacks are deleted from the
  cache (handlers see DELETED) and the rest are upserted.
- Typed: an ``Informer[Pod]`` holds and hands out ``pod_pb2.Pod`` (an object of another kind in
  its stream is a bug and raises TypeError). Controllers that read several kinds take the
  read-only, covariant view ``ObjectCache[Pod | VirtualMachine]``.
- Readers (``get``, ``list``, ``by_index``) get **copies**; nobody outside this class ever holds
  a mutable cached object. Handlers are called with the cached objects themselves, synchronously,
  and must only read them and not keep them (they map events to work-queue keys):
  ``handler(event_type, obj, previous)`` with ``obj`` the new object for ADDED and MODIFIED and
  the last one seen for DELETED; ``previous`` is the replaced object for MODIFIED, else None.
- ``has_synced`` turns true after the first complete list; controllers wait for it before acting,
  so they never mistake a cold cache for "nothing exists".
- Errors from the source other than the ones it handles itself are logged and the source is
  restarted after a back-off on the injected clock.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Generic, Protocol, TypeVar

from atoll import kinds
from atoll.client import ApiError
from atoll.clock import Clock
from atoll.ports import ApiObject, M, copy_of
from atoll.v1 import api_pb2
from atoll.watch_events import ADDED, DELETED, MODIFIED, RESYNC, SYNCED
from controller.runtime.keys import key_of

log = logging.getLogger(__name__)

Source = Callable[[], AsyncIterator[api_pb2.WatchEvent]]
M_co = TypeVar("M_co", bound=ApiObject, covariant=True)
# handler(event_type, obj, previous): ADDED (new, None), MODIFIED (new, old), DELETED (old, None).
Handler = Callable[[str, M_co, M_co | None], None]
IndexFunc = Callable[[M_co], Iterable[str]]


class ObjectCache(Protocol[M_co]):
    """The read side of an informer, covariant in its message type: an ``Informer[Pod]`` is an
    ``ObjectCache[Pod | VirtualMachine]``, so one controller can hold the caches of several kinds."""

    def add_handler(self, handler: Handler[M_co]) -> None: ...
    def add_index(self, name: str, values_of: IndexFunc[M_co]) -> None: ...
    def get(self, key: str) -> M_co | None: ...
    def list(self, namespace: str | None = None) -> Sequence[M_co]: ...
    def by_index(self, name: str, value: str) -> Sequence[M_co]: ...
    def index_keys(self, name: str, value: str) -> set[str]: ...


class Informer(Generic[M]):
    """The cache of one kind, ``message_type`` (optionally narrowed by the source's selectors)."""

    def __init__(self, message_type: type[M], source: Source, clock: Clock, *, retry_delay: float = 1.0) -> None:
        self.kind = kind_of_message(message_type)
        self.message_type = message_type
        self._source = source
        self._clock = clock
        self._retry_delay = retry_delay
        self._items: dict[str, M] = {}
        self._handlers: list[Handler[M]] = []
        self._index_funcs: dict[str, IndexFunc[M]] = {}
        self._indexes: dict[str, dict[str, set[str]]] = {}
        self._synced = asyncio.Event()
        self._relisting: set[str] | None = None
        self.revision = 0

    # -- wiring ---------------------------------------------------------------------------------

    def add_handler(self, handler: Handler[M]) -> None:
        """Call ``handler`` for every change; existing objects are replayed as ADDED first."""
        self._handlers.append(handler)
        for obj in self._items.values():
            handler(ADDED, obj, None)

    def add_index(self, name: str, values_of: IndexFunc[M]) -> None:
        """Maintain an index: ``values_of(obj)`` are the index values an object is found under."""
        if name in self._index_funcs:
            raise ValueError(f"informer {self.kind.plural}: index {name!r} is already defined")
        self._index_funcs[name] = values_of
        index: dict[str, set[str]] = {}
        for key, obj in self._items.items():
            for value in values_of(obj):
                index.setdefault(value, set()).add(key)
        self._indexes[name] = index

    # -- reads (copies) -------------------------------------------------------------------------

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def get(self, key: str) -> M | None:
        """A copy of the object with this key (``ns/name`` or ``name``), or None."""
        obj = self._items.get(key)
        return copy_of(obj) if obj is not None else None

    def contains(self, key: str) -> bool:
        return key in self._items

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def list(self, namespace: str | None = None) -> builtins.list[M]:
        """Copies of every object, or of those in ``namespace``."""
        return [
            copy_of(obj)
            for obj in self._items.values()
            if namespace is None or obj.metadata.namespace == namespace
        ]

    def by_index(self, name: str, value: str) -> builtins.list[M]:
        """Copies of the objects filed under ``value`` in index ``name``."""
        return [copy_of(self._items[key]) for key in sorted(self.index_keys(name, value))]

    def index_keys(self, name: str, value: str) -> set[str]:
        """The keys filed under ``value`` in index ``name`` (a new set)."""
        return set(self._indexes[name].get(value, ()))

    def __len__(self) -> int:
        return len(self._items)

    # -- running --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Fill and follow the cache until cancelled."""
        delay = self._retry_delay
        while True:
            self._relisting = set()
            try:
                async for event in self._source():
                    self._apply(event)
                    delay = self._retry_delay
            except ApiError as err:
                log.warning("informer %s: %s; listing again in %.1fs", self.kind.plural, err.message, delay)
            await self._clock.sleep(delay)
            delay = min(delay * 2, 30.0)

    def apply(self, event: api_pb2.WatchEvent) -> None:
        """Apply one event as ``run`` would (tests and benchmarks feed events directly)."""
        self._apply(event)

    def _apply(self, event: api_pb2.WatchEvent) -> None:
        self.revision = max(self.revision, event.resource_version)
        if event.type == RESYNC:
            self._relisting = set()
        elif event.type == SYNCED:
            if self._relisting is not None:
                for key in [key for key in self._items if key not in self._relisting]:
                    self._remove(key)
            self._relisting = None
            self._synced.set()
        elif event.type == DELETED:
            self._remove(key_of(self._message_of(event)))
        else:
            obj = self._message_of(event)
            key = key_of(obj)
            if self._relisting is not None:
                self._relisting.add(key)
            self._upsert(key, obj)

    def _message_of(self, event: api_pb2.WatchEvent) -> M:
        message = kinds.unwrap(event.object)
        if not isinstance(message, self.message_type):
            raise TypeError(f"informer {self.kind.plural}: the watch delivered a {type(message).__name__}")
        return message

    def _upsert(self, key: str, obj: M) -> None:
        old = self._items.get(key)
        if old is not None and old.metadata.resource_version == obj.metadata.resource_version:
            return
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        self._index(key, obj)
        kind = ADDED if old is None else MODIFIED
        for handler in self._handlers:
            handler(kind, obj, old)

    def _remove(self, key: str) -> None:
        old = self._items.pop(key, None)
        if old is None:
            return
        self._unindex(key, old)
        for handler in self._handlers:
            handler(DELETED, old, None)

    def _index(self, key: str, obj: M) -> None:
        for name, values_of in self._index_funcs.items():
            index = self._indexes[name]
            for value in values_of(obj):
                index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: M) -> None:
        for name, values_of in self._index_funcs.items():
            index = self._indexes[name]
            for value in values_of(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]


def kind_of_message(message_type: type[ApiObject]) -> kinds.Kind:
    """The registered kind whose message is ``message_type``; ValueError for any other class."""
    for kind in kinds.KINDS:
        if kind.message is message_type:
            return kind
    raise ValueError(f"{message_type.__name__} is not the message of an API kind")
