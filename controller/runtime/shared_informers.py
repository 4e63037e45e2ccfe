"""Shared informers: one cache per (kind, namespace) for every controller of a process, so that
five controllers watching pods cost one watch, as client-go's SharedInformerFactory does."""

from __future__ import annotations

import asyncio
from typing import Protocol

from atoll.clock import Clock
from atoll.ports import M, Watcher
from controller.runtime.informer import Informer, kind_of_message


class _Running(Protocol):
    """What ``SharedInformers`` does with an informer of any kind."""

    async def run(self) -> None: ...
    async def wait_synced(self) -> None: ...


class SharedInformers:
    """Hands out shared informers; ``start`` runs them, ``stop`` cancels them."""

    def __init__(self, client: Watcher, clock: Clock) -> None:
        self._client = client
        self._clock = clock
        self._informers: dict[tuple[str, str], _Running] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def informer(self, message_type: type[M], namespace: str = "") -> Informer[M]:
        """The informer of ``message_type`` (``pod_pb2.Pod``, ...) in ``namespace``, or every
        namespace; created on first use."""
        name = kind_of_message(message_type).name
        key = (name, namespace)
        found = self._informers.get(key)
        if isinstance(found, Informer) and found.message_type is message_type:
            return found
        client = self._client
        informer = Informer(message_type, lambda: client.list_then_watch(name, namespace), self._clock)
        self._informers[key] = informer
        if self._tasks:  # asked for after start: run it too
            self._tasks.append(asyncio.create_task(informer.run(), name=f"informer-{name}"))
        return informer

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
