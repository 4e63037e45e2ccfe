"""Taking work from an asyncio queue in batches: what one call of a batching sender carries."""

from __future__ import annotations

import asyncio
from typing import TypeVar

T = TypeVar("T")


async def next_batch(queue: asyncio.Queue[T], limit: int) -> list[T]:
    """Waits for one item, then takes whatever else is queued already, ``limit`` items at most:
    at a low rate an item goes out alone at once, under load one call carries many."""
    batch = [await queue.get()]
    while len(batch) < limit and not queue.empty():
        batch.append(queue.get_nowait())
    return batch
