"""``atoll attach``: a running container's own output from now on, as a ``ProcessSession``
(agent/drivers/session.py) over the driver's log (LogReader, following from its end).

With ``stdin`` (``attach -i`` to a container started with ``stdin: true``) what the client types
goes to the container's stdin; closing the session's stdin leaves the container's open for the
next attach (Kubernetes' default, no stdinOnce). It ends when the container does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from agent.drivers import log_lines
from agent.drivers.log_lines import LogLine
from agent.drivers.protocol import DriverError
from agent.drivers.session import EOF, STDERR, STDOUT, Output


class FollowSession:
    """Implements ``ProcessSession``: one line of output per read, until the log's end."""

    def __init__(self, lines: AsyncIterator[LogLine], stdin: Callable[[bytes], Awaitable[None]] | None = None) -> None:
        self._lines = lines
        self._stdin = stdin

    async def read(self) -> Output:
        try:
            line = await anext(self._lines)
        except StopAsyncIteration:
            return EOF
        return Output(STDERR if line.stream == log_lines.STDERR else STDOUT, (line.text + "\n").encode())

    async def write(self, data: bytes) -> None:
        """To the container's stdin; dropped when attached without it (or it ended meanwhile)."""
        if self._stdin is not None and data:
            with contextlib.suppress(DriverError):
                await self._stdin(data)

    async def close_stdin(self) -> None:
        """The container's stdin stays open (for the next attach)."""

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
