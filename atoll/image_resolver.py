"""ImageResolver: an image reference -> the digest it names now and the platforms it offers.

    resolve(ref) ── digest pinned? ──────────────────────────────┐
        │ tag: fresh tag entry (ttl)? ── yes ─▶ digest            │
        │ no: GET manifests/TAG ── registry down + stale entry ─▶ stale digest (outage tolerated)
        ▼                                                         ▼
    platforms by digest (immutable, kept until evicted) ◀── index entries | manifest -> config

Contract: ``resolve`` does I/O (call it off the event loop); ``cached`` never does. A digest's
platforms never change, so they are cached without expiry (bounded, least recently used out);
a tag's digest is trusted for ``ttl`` seconds and, past that, only while the registry cannot
be reached. Errors: RegistryError (registry said no or could not be reached) and PlatformError
(its documents break the spec), both one line. Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from atoll.image_platforms import (
    Platform,
    config_digest,
    config_platform,
    index_entries,
    is_index,
    parse_document,
)
from atoll.image_reference import ImageReference
from atoll.image_registry import UNREACHABLE, RegistryClient, RegistryError

DEFAULT_TTL = 300.0
MAX_ENTRIES = 10_000
_Value = TypeVar("_Value")


@dataclass(frozen=True, slots=True, order=True)
class ResolvedImage:
    """What ``reference`` is: the digest of its manifest or index, and the platforms it offers."""

    reference: str
    digest: str
    platforms: tuple[Platform, ...]


class ImageResolver:
    def __init__(
        self,
        client: RegistryClient,
        ttl: float = DEFAULT_TTL,
        now: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.now = now
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._tags: OrderedDict[str, tuple[str, float]] = OrderedDict()  # name:tag -> (digest, fetched at)
        self._platforms: OrderedDict[str, tuple[Platform, ...]] = OrderedDict()  # digest -> platforms
        self.stale_answers = 0  # answers from an expired tag entry while the registry was down

    def cached(self, image: ImageReference) -> ResolvedImage | None:
        """The fresh answer for ``image`` from the cache, or None (no I/O)."""
        with self._lock:
            digest = image.digest or self._fresh_tag(image)
            platforms = self._platforms.get(digest) if digest else None
            if platforms is None:
                return None
            self._platforms.move_to_end(digest)
            return ResolvedImage(str(image), digest, platforms)

    def resolve(self, image: ImageReference) -> ResolvedImage:
        """The answer for ``image``, asking the registry when the cache cannot answer."""
        hit = self.cached(image)
        if hit is not None:
            return hit
        if image.digest:
            return ResolvedImage(str(image), image.digest, self._platforms_of(image, image.digest))
        try:
            fetched = self.client.manifest(image, image.tag)
        except RegistryError as err:
            stale = self._stale(image) if err.reason == UNREACHABLE else None
            if stale is None:
                raise
            return stale
        platforms = self._platforms_from(image, fetched.digest, fetched.body, fetched.media_type)
        with self._lock:
            self._remember(self._tags, f"{image.name}:{image.tag}", (fetched.digest, self.now()))
        return ResolvedImage(str(image), fetched.digest, platforms)

    def _fresh_tag(self, image: ImageReference) -> str:
        entry = self._tags.get(f"{image.name}:{image.tag}")
        if entry is None or self.now() - entry[1] > self.ttl:
            return ""
        return entry[0]

    def _stale(self, image: ImageReference) -> ResolvedImage | None:
        with self._lock:
            entry = self._tags.get(f"{image.name}:{image.tag}")
            platforms = self._platforms.get(entry[0]) if entry else None
            if entry is None or platforms is None:
                return None
            self.stale_answers += 1
            return ResolvedImage(str(image), entry[0], platforms)

    def _platforms_of(self, image: ImageReference, digest: str) -> tuple[Platform, ...]:
        fetched = self.client.manifest(image, digest)
        return self._platforms_from(image, digest, fetched.body, fetched.media_type)

    def _platforms_from(self, image: ImageReference, digest: str, body: bytes, media_type: str) -> tuple[Platform, ...]:
        document = parse_document(body, "the manifest")
        if is_index(document, media_type):
            platforms = tuple(dict.fromkeys(entry.platform for entry in index_entries(document)))
        else:
            config = parse_document(self.client.blob(image, config_digest(document)), "the image config")
            platforms = (config_platform(config),)
        with self._lock:
            self._remember(self._platforms, digest, platforms)
        return platforms

    def _remember(self, cache: OrderedDict[str, _Value], key: str, value: _Value) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self.max_entries:
            cache.popitem(last=False)
