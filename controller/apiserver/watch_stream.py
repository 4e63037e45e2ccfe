"""One client watch: the initial list (resource_version 0), then changes filtered by selectors.

Selector semantics follow Kubernetes' watch cache: an object that starts matching arrives as
ADDED, one that stops matching as DELETED (carrying its last matching state), one that keeps
matching as MODIFIED.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from atoll.kinds import Kind
from atoll.v1 import api_pb2
from atoll.watch_events import ADDED, BOOKMARK, DELETED, MODIFIED
from controller.apiserver import codec, listing, wire
from controller.apiserver.errors import GoneError
from controller.apiserver.watch_cache import CachedEvent, WatchCache
from controller.store.protocol import CompactedError, Store

INITIAL_BATCH = 500
DEFAULT_BOOKMARK_SECONDS = 30.0


class WatchStreamer:
    def __init__(self, store: Store, cache: WatchCache, bookmark_seconds: float = DEFAULT_BOOKMARK_SECONDS) -> None:
        self._store = store
        self._cache = cache
        self._bookmark_seconds = bookmark_seconds

    async def stream(self, kind: Kind, namespace: str, request: api_pb2.WatchRequest) -> AsyncIterator[bytes]:
        """Wire-encoded WatchResponses for ``request``; ends only when the client goes away or on error."""
        matches = listing.selector_matcher(kind, request.label_selector, request.field_selector)
        selective = bool(request.label_selector or request.field_selector)
        translate = _translate if selective else _translate_all
        prefix = kind.prefix(namespace)
        after = request.resource_version
        if after < 0:
            raise GoneError(f"resourceVersion: must be >= 0, got {after}")
        if after == 0:
            after = await self._store.current_revision()
            async for chunk in self._initial(kind, prefix, after, matches if selective else None):
                yield chunk
        timeout = self._bookmark_seconds if request.allow_bookmarks else None
        async with self._cache.subscribe(kind, prefix, after) as subscription:
            while True:
                batch = await subscription.next_batch(timeout)
                if not batch:
                    yield wire.watch_response([_bookmark(kind, max(self._cache.revision, after))])
                    continue
                encoded = (e for e in (translate(event, matches) for event in batch) if e is not None)
                for response in wire.watch_responses(encoded):
                    yield response

    async def _initial(
        self, kind: Kind, prefix: str, revision: int, matches: listing.Matcher | None
    ) -> AsyncIterator[bytes]:
        """ADDED for every object under ``prefix`` at ``revision`` that ``matches`` (None: all,
        without decoding any)."""
        start_after: str | None = None
        while True:
            try:
                chunk = await self._store.range(prefix, start_after=start_after, limit=INITIAL_BATCH, revision=revision)
            except CompactedError as exc:
                raise GoneError(f"initial list compacted while streaming ({exc}); watch again") from None
            events = []
            for kv in chunk.items:
                start_after = kv.key
                if matches is None or matches(codec.decode(kind, kv.value, kv.mod_revision)):
                    events.append(wire.watch_event(ADDED, kind, kv.value, kv.mod_revision))
            for response in wire.watch_responses(events):
                yield response
            if not chunk.more:
                return


def _translate(event: CachedEvent, matches: listing.Matcher) -> bytes | None:
    """The serialized WatchEvent this watcher sees for ``event``, or None if it sees nothing."""
    if event.deleted:
        return event.encoded(DELETED) if matches(event.new) else None
    now_matches = matches(event.new)
    old = event.old
    was_matching = old is not None and matches(old)
    if now_matches and was_matching:
        return event.encoded(MODIFIED)
    if now_matches:
        return event.encoded(ADDED)
    if was_matching:
        return event.encoded_left()
    return None


def _translate_all(event: CachedEvent, matches: listing.Matcher) -> bytes:
    """``_translate`` for a watcher without selectors (everything matches): no object is
    decoded to decide, only to encode, once for all watchers."""
    if event.deleted:
        return event.encoded(DELETED)
    return event.encoded(ADDED if event.prev_value is None else MODIFIED)


def _bookmark(kind: Kind, revision: int) -> bytes:
    event = api_pb2.WatchEvent(type=BOOKMARK, resource_version=revision)
    message: Any = getattr(event.object, kind.field)
    message.metadata.resource_version = revision
    return bytes(event.SerializeToString())
