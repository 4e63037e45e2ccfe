"""EncryptingStore: a Store decorator that keeps the values under some key prefixes (Secrets)
encrypted in the backend and plain for everything above it; semantics otherwise unchanged.

Revisions, conditional writes, paging and watches pass through; only values change. ``reencrypt``
is the start-up pass that makes every value under a prefix use the write key (rotation, and
Secrets written before encryption was on).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from controller.apiserver.encryption.aesgcm import Transformer
from controller.store.protocol import ConflictError, KeyNotFoundError, KeyValue, RangeResult, Store, WatchEvent

log = logging.getLogger(__name__)
_PAGE = 500


class EncryptingStore:
    def __init__(self, inner: Store, transformer: Transformer, prefixes: tuple[str, ...]) -> None:
        self._inner = inner
        self._transformer = transformer
        self._prefixes = prefixes

    def _encrypted(self, key: str) -> bool:
        return key.startswith(self._prefixes)

    def _overlaps(self, prefix: str) -> bool:
        return any(candidate.startswith(prefix) or prefix.startswith(candidate) for candidate in self._prefixes)

    def _plain(self, kv: KeyValue) -> KeyValue:
        if not self._encrypted(kv.key):
            return kv
        return dataclasses.replace(kv, value=self._transformer.decrypt(kv.key, kv.value))

    def _sealed(self, key: str, value: bytes) -> bytes:
        return self._transformer.encrypt(key, value) if self._encrypted(key) else value

    # Writes hand back the inner store's coroutine (no frame of their own: every write passes here).
    def create(self, key: str, value: bytes) -> Coroutine[Any, Any, int]:
        return self._inner.create(key, self._sealed(key, value))

    def update(self, key: str, value: bytes, expected_revision: int | None = None) -> Coroutine[Any, Any, int]:
        return self._inner.update(key, self._sealed(key, value), expected_revision)

    def delete(self, key: str, expected_revision: int | None = None) -> Coroutine[Any, Any, int]:
        return self._inner.delete(key, expected_revision)

    async def get(self, key: str) -> KeyValue | None:
        kv = await self._inner.get(key)
        return None if kv is None else self._plain(kv)

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        revision: int | None = None,
    ) -> RangeResult:
        result = await self._inner.range(prefix, start_after=start_after, limit=limit, revision=revision)
        if not self._overlaps(prefix):
            return result
        return dataclasses.replace(result, items=[self._plain(kv) for kv in result.items])

    async def watch(self, prefix: str, after_revision: int) -> AsyncIterator[WatchEvent]:
        overlaps = self._overlaps(prefix)
        async for event in self._inner.watch(prefix, after_revision):
            if overlaps and self._encrypted(event.kv.key):
                previous = event.prev_value
                event = dataclasses.replace(
                    event,
                    kv=self._plain(event.kv),
                    prev_value=None if previous is None else self._transformer.decrypt(event.kv.key, previous),
                )
            yield event

    async def current_revision(self) -> int:
        return await self._inner.current_revision()

    async def compact(self, revision: int) -> None:
        await self._inner.compact(revision)

    async def close(self) -> None:
        await self._inner.close()

    async def reencrypt(self) -> int:
        """Rewrites every value under the prefixes that is not under the write key; returns how
        many were rewritten. Raises DecryptionError (naming the object) for a value no listed key
        opens. Safe to repeat and to interrupt: a value a concurrent writer changed is skipped
        (that write used the write key)."""
        rewritten = 0
        for prefix in self._prefixes:
            start_after: str | None = None
            while True:
                page = await self._inner.range(prefix, start_after=start_after, limit=_PAGE)
                for kv in page.items:
                    start_after = kv.key
                    if self._transformer.is_current(kv.value):
                        continue
                    plain = self._transformer.decrypt(kv.key, kv.value)
                    try:
                        await self._inner.update(kv.key, self._sealed(kv.key, plain), kv.mod_revision)
                    except (ConflictError, KeyNotFoundError):
                        continue
                    rewritten += 1
                if not page.more:
                    break
        if rewritten:
            log.info("encryption at rest: rewrote %d values under the current key", rewritten)
        return rewritten
