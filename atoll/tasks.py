"""Ending background asyncio tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]]) -> list[Any]:
    """Cancel every task and wait until each has ended; returns their results or exceptions in
    order (CancelledError for the cancelled ones), never raising them."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    return await asyncio.gather(*pending, return_exceptions=True)
