"""``attach -t`` to a real container's terminal: a ``ProcessSession`` over the shim's attach
socket (oci/shim.py ``Terminal``). Reads are what the terminal shows from now on (the end comes
when the container ends), ``resize`` sends ``ROWS COLS`` lines the shim applies to the master,
and writes go to the container's stdin FIFO, which the shim types into the terminal, so attach
goes through the same writer as ``attach -i`` to a container without one. Hanging up only
closes this connection: the container and its terminal stay with the shim.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from agent.drivers.oci.shim import in_dir
from agent.drivers.protocol import DriverError
from agent.drivers.stream_session import StreamSession


async def open_terminal(socket: Path, rows: int, cols: int, type_in: Callable[[bytes], Awaitable[None]]
                        ) -> TerminalSession:
    """Connect to the shim's ``socket`` and size the terminal ``rows`` x ``cols``; DriverError
    when nothing serves it (the container ended, or a shim from before terminals)."""
    directory = os.open(socket.parent, os.O_RDONLY | os.O_DIRECTORY)  # a short path, whatever the dir's
    try:
        reader, writer = await asyncio.open_unix_connection(in_dir(directory, socket.name))
    except OSError as err:
        raise DriverError(f"the container's terminal is not served ({err.strerror or err})") from None
    finally:
        os.close(directory)
    session = TerminalSession(reader, writer, type_in)
    session.resize(rows, cols)
    return session


class TerminalSession(StreamSession):
    """Implements ``ProcessSession``; ``wait`` is 0 (an attach tells no exit code)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 type_in: Callable[[bytes], Awaitable[None]]) -> None:
        super().__init__(reader, writer)
        self._type_in = type_in

    async def write(self, data: bytes) -> None:
        """Typed into the terminal; dropped once the container ended."""
        if data:
            with contextlib.suppress(DriverError):
                await self._type_in(data)

    async def close_stdin(self) -> None:
        """The terminal's input stays open (for the next attach)."""

    def resize(self, rows: int, cols: int) -> None:
        if rows > 0 and cols > 0 and not self._writer.is_closing():
            self._writer.write(f"{rows} {cols}\n".encode())
