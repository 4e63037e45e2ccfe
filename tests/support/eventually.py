"""Polling for end-to-end tests: wait until a condition holds, failing with what was last seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Call ``check`` until it returns a truthy value (returned) or raises nothing for ``timeout``
    seconds; an AssertionError from ``check`` counts as "not yet" and is re-raised at the end.
    Generous by default: a wait that holds returns at once, and a loaded machine is slow."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as err:
            last = err
        if time.monotonic() > deadline:
            if last is not None:
                raise last
            raise AssertionError(f"condition not met within {timeout:g}s")
        await asyncio.sleep(interval)


def until(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2, what: str = "") -> Any:
    """Call ``check`` until it returns a truthy value (returned); AssertionError (naming ``what``)
    after ``timeout`` seconds. For synchronous tests that drive the CLI as a child process."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what or 'condition'} not reached within {timeout:g}s"
        time.sleep(interval)
