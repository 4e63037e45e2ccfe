"""A Store decorator that times every call into metrics.STORE_DURATION; semantics unchanged."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from controller.apiserver.metrics import STORE_DURATION
from controller.store.protocol import KeyValue, RangeResult, Store, WatchEvent

_BACKENDS = {"MemoryStore": "memory", "SqliteStore": "sqlite", "EtcdStore": "etcd"}


class InstrumentedStore:
    """Forwards to ``inner``; watch() is not timed (it is a stream)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        backend = _BACKENDS.get(type(inner).__name__, type(inner).__name__)
        self._observe = {
            operation: STORE_DURATION.labels(backend, operation).observe
            for operation in ("create", "update", "delete", "get", "range", "current_revision", "compact")
        }

    async def create(self, key: str, value: bytes) -> int:
        started = time.perf_counter()
        try:
            return await self._inner.create(key, value)
        finally:
            self._observe["create"](time.perf_counter() - started)

    async def update(self, key: str, value: bytes, expected_revision: int | None = None) -> int:
        started = time.perf_counter()
        try:
            return await self._inner.update(key, value, expected_revision)
        finally:
            self._observe["update"](time.perf_counter() - started)

    async def delete(self, key: str, expected_revision: int | None = None) -> int:
        started = time.perf_counter()
        try:
            return await self._inner.delete(key, expected_revision)
        finally:
            self._observe["delete"](time.perf_counter() - started)

    async def get(self, key: str) -> KeyValue | None:
        started = time.perf_counter()
        try:
            return await self._inner.get(key)
        finally:
            self._observe["get"](time.perf_counter() - started)

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        revision: int | None = None,
    ) -> RangeResult:
        started = time.perf_counter()
        try:
            return await self._inner.range(prefix, start_after=start_after, limit=limit, revision=revision)
        finally:
            self._observe["range"](time.perf_counter() - started)

    def watch(self, prefix: str, after_revision: int) -> AsyncIterator[WatchEvent]:
        return self._inner.watch(prefix, after_revision)

    async def current_revision(self) -> int:
        started = time.perf_counter()
        try:
            return await self._inner.current_revision()
        finally:
            self._observe["current_revision"](time.perf_counter() - started)

    async def compact(self, revision: int) -> None:
        started = time.perf_counter()
        try:
            await self._inner.compact(revision)
        finally:
            self._observe["compact"](time.perf_counter() - started)

    async def close(self) -> None:
        await self._inner.close()
