"""Waiting on raw file descriptors from asyncio without reading ahead: used where flow control
matters (a session reads one chunk only when its consumer asks: agent/drivers/process_session.py,
atoll/cli/terminal.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


async def readable(fds: Sequence[int]) -> int:
    """The first of ``fds`` that can be read without blocking (or is at its end). PermissionError
    for a descriptor epoll cannot watch (a regular file, which never blocks)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[int] = loop.create_future()

    def now_ready(fd: int) -> None:
        if not ready.done():
            ready.set_result(fd)

    added: list[int] = []
    try:
        for fd in fds:
            loop.add_reader(fd, now_ready, fd)
            added.append(fd)
        return await ready
    finally:
        for fd in added:
            loop.remove_reader(fd)


async def writable(fd: int) -> None:
    """Returns once ``fd`` can take a write without blocking."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def now_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, now_ready)
    try:
        await ready
    finally:
        loop.remove_writer(fd)
