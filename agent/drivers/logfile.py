"""Reading a task's log file (container output, VM serial console) as lines, optionally following
it while the task runs. The file is written by another process (runtime, QEMU), so following
polls its size; a partial last line is held back until it is finished or the task has ended.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path

POLL_SECONDS = 0.1


def _decode(raw: bytes) -> str:
    return raw.decode(errors="replace").rstrip("\r")


async def follow_lines(path: Path, *, follow: bool, tail: int, ended: Callable[[], bool],
                       poll: float = POLL_SECONDS) -> AsyncIterator[str]:
    """The lines of ``path`` (the last ``tail`` of them; -1 for all), then, with ``follow``, every
    line appended until ``ended()`` is true. A missing file reads as empty."""
    offset = 0
    pending = b""
    first = True
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
        lines = [_decode(raw) for raw in complete]
        if first:
            first = False
            if 0 <= tail < len(lines):
                lines = list(deque(lines, maxlen=tail)) if tail else []
        for line in lines:
            yield line
        if not follow or done:
            return
        await asyncio.sleep(poll)


def read_text(path: Path, limit: int = 1 << 20) -> str:
    """The last ``limit`` bytes of ``path`` as text ('' when missing)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - limit))
            return handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
