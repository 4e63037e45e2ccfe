"""Helpers for reading Store.watch iterators in tests without leaking streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

from controller.store.protocol import Store, WatchEvent

WAIT_SECONDS = 10.0


@contextlib.asynccontextmanager
async def watching(
    store: Store, prefix: str, after_revision: int
) -> AsyncIterator[AsyncIterator[WatchEvent]]:
    """Opens a watch and closes it (aclose) when the block ends."""
    events = cast(AsyncGenerator[WatchEvent, None], store.watch(prefix, after_revision))
    try:
        yield events
    finally:
        await events.aclose()


async def take(events: AsyncIterator[WatchEvent], count: int) -> list[WatchEvent]:
    """The next ``count`` events; fails the test if they do not arrive within WAIT_SECONDS."""
    taken: list[WatchEvent] = []

    async def collect() -> None:
        while len(taken) < count:
            taken.append(await anext(events))

    try:
        await asyncio.wait_for(collect(), WAIT_SECONDS)
    except TimeoutError:
        raise AssertionError(f"expected {count} events, got {len(taken)}: {taken[-3:]}") from None
    return taken


async def assert_quiet(events: AsyncIterator[WatchEvent], seconds: float = 0.3) -> None:
    """Asserts that no further event arrives within ``seconds``."""
    pending = asyncio.ensure_future(anext(events))
    done, _ = await asyncio.wait({pending}, timeout=seconds)
    if done:
        raise AssertionError(f"unexpected extra event: {pending.result()}")
    pending.cancel()
    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
        await pending
