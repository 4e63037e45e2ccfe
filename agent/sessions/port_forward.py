"""``atoll port-forward``: one TCP connection to a workload's port as a ``ProcessSession``
(agent/drivers/session.py): what the client sends is written to the connection, what the port
answers is read one chunk at a time when the stream can take it (flow control), a half-close
is passed on, and the session ends when the port closes its side.

Real workloads are reached as probes reach them (agent/workload_connect.py); a simulated runtime
answers itself (``SimulatedPorts``).
"""

from __future__ import annotations

import asyncio
import contextlib

from agent.drivers.abilities import SimulatedPorts
from agent.drivers.session import ProcessSession
from agent.drivers.stream_session import StreamSession
from agent.workload_connect import connect, reach
from agent.workload_target import Target

CONNECT_TIMEOUT = 10.0


class PortUnreachableError(Exception):
    """Nothing to connect to, or the connection was refused; the message says which, one line."""


async def open_port(target: Target, port: int) -> ProcessSession:
    if isinstance(target.driver, SimulatedPorts):
        return await target.driver.open_port(target.task_id, port)
    address, netns = await reach(target.driver, target.task_id, target.address)
    if not address:
        raise PortUnreachableError(f"{target.label} has no address to forward to yet")
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await connect(address, port, netns)
    except TimeoutError:
        raise PortUnreachableError(f"{target.label}: port {port} did not answer within {CONNECT_TIMEOUT:g} s") from None
    except OSError as err:
        reason = err.strerror or str(err)
        raise PortUnreachableError(f"{target.label}: nothing accepts connections on port {port} ({reason})") from None
    return TcpSession(reader, writer)


class TcpSession(StreamSession):
    """Implements ``ProcessSession`` over an open connection."""

    async def write(self, data: bytes) -> None:
        if self._writer.is_closing():
            return
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError:
            return

    async def close_stdin(self) -> None:
        if self._writer.can_write_eof() and not self._writer.is_closing():
            with contextlib.suppress(OSError):
                self._writer.write_eof()

    def resize(self, rows: int, cols: int) -> None:
        """A connection has no window."""
