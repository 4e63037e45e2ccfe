"""``atoll console vm/NAME``: a VM's serial port, shared by the sessions that look at it.

QEMU serves the serial chardev on a unix socket with one client at a time; the agent is that
client (one connection per VM, made when the first session opens, closed when the last ends).
Every session reads what the guest writes from then on (earlier output: ``atoll logs vm/NAME``,
the chardev's logfile). Only the oldest open session types into the guest; the others are
told once that they are read-only, and the next oldest takes over when the writer leaves
(virtctl's console allows one; KubeVirt refuses a second outright).

Flow control: each session holds at most ``SESSION_CHUNKS`` chunks. The guest does not wait for
us (a serial port has no back-pressure to a socket reader that stops), so a session that falls
that far behind loses output instead of the agent buffering without limit, and is told how much.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from agent.drivers.session import CHUNK_BYTES, EOF, STDOUT, Output

SESSION_CHUNKS = 256
READ_ONLY_NOTE = b"\r\n[atoll: read-only: another console session types into this VM]\r\n"


class ConsoleUnavailableError(Exception):
    """The VM's serial socket cannot be reached (a run started before consoles were sockets)."""


class SerialConsole:
    """The agent's one connection to a VM's serial socket, fanned out to its sessions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sessions: list[ConsoleSession] = []
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def open(self) -> bool:
        return self._writer is not None

    async def attach(self) -> ConsoleSession:
        if self._writer is None:
            try:
                reader, self._writer = await asyncio.open_unix_connection(str(self.path))
            except OSError as err:
                raise ConsoleUnavailableError(
                    f"the VM's serial console is not reachable ({err.strerror or err}); a run started before "
                    "consoles were served needs a restart"
                ) from None
            self._pump = asyncio.create_task(self._distribute(reader), name=f"console-{self.path.name}")
        session = ConsoleSession(self)
        self._sessions.append(session)
        return session

    def is_writer(self, session: ConsoleSession) -> bool:
        return bool(self._sessions) and self._sessions[0] is session

    async def type(self, data: bytes) -> None:
        if self._writer is not None:
            self._writer.write(data)
            await self._writer.drain()

    async def detach(self, session: ConsoleSession) -> None:
        if session in self._sessions:
            self._sessions.remove(session)
        if not self._sessions:
            await self._disconnect()

    async def _distribute(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(CHUNK_BYTES):
                for session in list(self._sessions):
                    session.deliver(Output(STDOUT, data))
        except OSError:
            pass
        finally:
            for session in list(self._sessions):
                session.deliver(EOF)

    async def _disconnect(self) -> None:
        writer, pump = self._writer, self._pump
        self._writer, self._pump = None, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class ConsoleSession:
    """Implements ``ProcessSession`` (agent/drivers/session.py) for one viewer of a console."""

    def __init__(self, console: SerialConsole) -> None:
        self._console = console
        self._queue: asyncio.Queue[Output] = asyncio.Queue(SESSION_CHUNKS)
        self._dropped = 0
        self._told_read_only = False
        self._ended = False

    def deliver(self, output: Output) -> None:
        """From the console's pump: queue ``output``, or count it as lost when the session is full."""
        if output.eof:
            self._ended = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(output)
            return
        try:
            self._queue.put_nowait(output)
        except asyncio.QueueFull:
            self._dropped += len(output.data)

    async def read(self) -> Output:
        if self._ended and self._queue.empty():
            return EOF
        output = await self._queue.get()
        if self._dropped and not output.eof:
            note = f"\r\n[atoll: {self._dropped} bytes of console output lost: this session read too slowly]\r\n"
            self._dropped = 0
            return Output(STDOUT, note.encode() + output.data)
        return output

    async def write(self, data: bytes) -> None:
        if self._ended or not data:
            return
        if self._console.is_writer(self):
            await self._console.type(data)
        elif not self._told_read_only:
            self._told_read_only = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(Output(STDOUT, READ_ONLY_NOTE))

    async def close_stdin(self) -> None:
        """A serial port has no end of input: nothing to do."""

    def resize(self, rows: int, cols: int) -> None:
        """A serial port has no window size."""

    async def wait(self) -> int:
        return 0

    async def hangup(self) -> None:
        self._ended = True
        await self._console.detach(self)

    async def close(self) -> None:
        await self.hangup()


class SerialConsoles:
    """The consoles of one driver's VMs, by socket path. A console whose sessions all left has
    closed its connection and is forgotten at the next attach, so VMs that are gone leave nothing."""

    def __init__(self) -> None:
        self._consoles: dict[Path, SerialConsole] = {}

    async def attach(self, path: Path) -> ConsoleSession:
        self._consoles = {known: console for known, console in self._consoles.items() if console.open}
        console = self._consoles.get(path)
        if console is None:
            console = self._consoles[path] = SerialConsole(path)
        return await console.attach()
