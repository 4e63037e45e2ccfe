"""Reading a task's log file (container output, VM serial console) as lines, optionally following
it while the task runs. The file is written by another process (the container's shim, QEMU), so
following polls its size; a partial last line is held back until it is finished or the task has
ended. What a line holds is the writer's format: plain text here, the CRI's in oci/log_reader.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from agent.drivers.log_lines import LogLine, LogQuery, select
from agent.drivers.protocol import DriverError

POLL_SECONDS = 0.1


def decode_text(raw: bytes) -> str:
    return raw.decode(errors="replace").rstrip("\r")


async def follow_batches(path: Path, *, follow: bool, ended: Callable[[], bool],
                         poll: float = POLL_SECONDS) -> AsyncIterator[list[bytes]]:
    """The lines of ``path`` (without newlines) in batches: first every line it holds, then, with
    ``follow``, the lines appended, until ``ended()`` is true. A missing file reads as empty."""
    offset = 0
    pending = b""
    while True:
        done = ended()  # before reading: output written before the end is then surely read
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:
            chunk = b""
        offset += len(chunk)
        pending += chunk
        *complete, pending = pending.split(b"\n")
        if (done or not follow) and pending:
            complete.append(pending)
            pending = b""
        yield complete
        if not follow or done:
            return
        await asyncio.sleep(poll)


async def plain_lines(path: Path, query: LogQuery, ended: Callable[[], bool]) -> AsyncIterator[LogLine]:
    """``query``'s lines of a log file of plain text lines, which carry no times (a VM's serial
    console): DriverError when the query needs times."""
    if query.needs_stamps:
        raise DriverError("this log records no times: --since and --timestamps need a container's log")
    batches = follow_batches(path, follow=query.follow, ended=ended)
    async for line in select(_plain(batches), query):
        yield line


async def _plain(batches: AsyncIterator[list[bytes]]) -> AsyncIterator[list[LogLine]]:
    async for batch in batches:
        yield [LogLine(decode_text(raw)) for raw in batch]


def read_text(path: Path, limit: int = 1 << 20) -> str:
    """The last ``limit`` bytes of ``path`` as text ('' when missing)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - limit))
            return handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
