"""``atoll attach``: a running container's own output from now on, as a ``ProcessSession``
(agent/drivers/session.py) over the driver's log (LogReader, following from its end).

Containers are started without stdin (the API has no ``stdin: true`` for them yet), so a session
only reads; it ends when the container does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from agent.drivers import log_lines
from agent.drivers.log_lines import LogLine
from agent.drivers.session import EOF, STDERR, STDOUT, Output


class FollowSession:
    """Implements ``ProcessSession``: one line of output per read, until the log's end."""

    def __init__(self, lines: AsyncIterator[LogLine]) -> None:
        self._lines = lines

    async def read(self) -> Output:
        try:
            line = await anext(self._lines)
        except StopAsyncIteration:
            return EOF
        return Output(STDERR if line.stream == log_lines.STDERR else STDOUT, (line.text + "\n").encode())

    async def write(self, data: bytes) -> None:
        """No stdin to write to."""

    async def close_stdin(self) -> None:
        """No stdin to close."""

    def resize(self, rows: int, cols: int) -> None:
        """No terminal."""

    async def wait(self) -> int:
        return 0

    async def hangup(self) -> None:
        aclose = getattr(self._lines, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):
                await aclose()

    async def close(self) -> None:
        await self.hangup()
