"""The reading half of a ``ProcessSession`` (agent/drivers/session.py) over an open stream
connection: a TCP port (``port-forward``) or a shim's terminal socket (``attach -t``). Reads are
one chunk the peer already sent (flow control: nothing is read ahead), the end is the peer's
close; hanging up closes only this connection. Subclasses say what writing means."""

from __future__ import annotations

import asyncio
import contextlib

from agent.drivers.session import CHUNK_BYTES, EOF, STDOUT, Output


class StreamSession:
    """``read``, ``wait`` (0: a connection has no exit code), ``hangup`` and ``close``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self) -> Output:
        try:
            data = await self._reader.read(CHUNK_BYTES)
        except OSError:
            return EOF
        return Output(STDOUT, data) if data else EOF

    async def wait(self) -> int:
        return 0

    async def hangup(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def close(self) -> None:
        await self.hangup()
