"""Shared informers: one cache per (kind, namespace) for every controller of a process, so that
five controllers watching pods cost one watch, as client-go's SharedInformerFactory does."""

from __future__ import annotations

import asyncio

from atoll import kinds
from atoll.client import Client
from atoll.clock import Clock
from controller.runtime.informer import Informer


class SharedInformers:
    """Hands out shared informers; ``start`` runs them, ``stop`` cancels them."""

    def __init__(self, client: Client, clock: Clock) -> None:
        self._client = client
        self._clock = clock
        self._informers: dict[tuple[str, str], Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def informer(self, kind: str, namespace: str = "") -> Informer:
        """The informer of ``kind`` (in ``namespace``, or every namespace); created on first use."""
        name = kinds.lookup(kind).name
        key = (name, namespace)
        found = self._informers.get(key)
        if found is None:
            client = self._client
            found = Informer(name, lambda: client.list_then_watch(name, namespace), self._clock)
            self._informers[key] = found
            if self._tasks:  # asked for after start: run it too
                self._tasks.append(asyncio.create_task(found.run(), name=f"informer-{name}"))
        return found

    def start(self) -> None:
        for (name, _), informer in self._informers.items():
            self._tasks.append(asyncio.create_task(informer.run(), name=f"informer-{name}"))

    async def wait_synced(self) -> None:
        await asyncio.gather(*(informer.wait_synced() for informer in self._informers.values()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
