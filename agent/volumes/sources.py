"""The ConfigMaps and Secrets one pod reads, from the API: fetched when needed, and followed by
a watch (one per object, ``metadata.name=NAME``: what the node authorizer allows a node) for the
objects its volumes show, so a change reaches the files without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import grpc

from atoll import kinds
from atoll.client import ApiError, Client
from atoll.watch_events import DELETED

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0


class ConfigObjects:
    """``on_change`` is called (on the event loop) whenever a followed object changes."""

    def __init__(self, client: Client, namespace: str, on_change: Callable[[], None]) -> None:
        self._client = client
        self._namespace = namespace
        self._on_change = on_change
        self._known: dict[tuple[str, str], Any | None] = {}
        self._watches: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def get(self, kind: str, name: str, *, fresh: bool = False) -> Any | None:
        """The object (its message), or None when it does not exist. A followed object is served
        from its watch, another one found before from memory (nothing changes it on disk); a
        missing one is asked for again; ``fresh`` reads the API again (what a container start sees)."""
        key = (kind, name)
        if fresh or key not in self._known or (self._known[key] is None and key not in self._watches):
            self._known[key] = await self._fetch(kind, name)
        return self._known[key]

    def follow(self, kind: str, name: str) -> None:
        """Keep ``kind``/``name`` current from a watch; idempotent."""
        key = (kind, name)
        if key not in self._watches:
            self._watches[key] = asyncio.create_task(self._watch(kind, name), name=f"watch {kind}/{name}")

    async def close(self) -> None:
        for task in self._watches.values():
            task.cancel()
        for task in self._watches.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._watches.clear()

    async def _fetch(self, kind: str, name: str) -> Any | None:
        try:
            return kinds.unwrap(await self._client.get(kind, name, self._namespace))
        except ApiError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    async def _watch(self, kind: str, name: str) -> None:
        key = (kind, name)
        selector = f"metadata.name={name}"
        while True:
            try:
                async for event in self._client.watch(kind, self._namespace, field_selector=selector):
                    found = None if event.type == DELETED else kinds.unwrap(event.object)
                    if found != self._known.get(key):
                        self._known[key] = found
                        self._on_change()
            except ApiError as err:
                log.warning("watch of %s %s/%s failed (%s); retrying", kind, self._namespace, name, err.reason)
            await asyncio.sleep(RETRY_SECONDS)
