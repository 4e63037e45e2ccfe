"""What a simulated task answers through ``atoll exec`` and ``atoll console``: a small fixed set of
commands, so hollow fleets and tests without root can be looked into.

Commands: ``hostname``, ``cat /etc/os-release``, ``echo ARGS``, ``true``, ``false``, ``exit N``,
``sh -c 'COMMAND'`` (one of these), ``cat`` (copies stdin), ``sh`` / ``bash`` (an interactive shell
of these commands, reading lines from stdin, where ``tty`` and ``stty size`` also answer from the
session's terminal: /dev/pts/0 and its size, which follows resizes). Anything else:
``sh: NAME: not found``, exit 127 (exec probes treat that as a pass: the simulated process is healthy).
A VM's console starts with a login prompt, then the same shell.

The session (``ScriptedSession``) runs the program as a task; its output and input go through
queues of ``QUEUE_FRAMES`` frames, so a client that stops reading stops the program as a real
process blocks on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from agent.drivers.session import EOF, STDERR, STDOUT, Output

QUEUE_FRAMES = 8
NOT_FOUND = 127
HANGUP_EXIT = 128 + 1  # SIGHUP
INTERRUPT = b"\x03"
END_OF_INPUT = b"\x04"
LINE_CHARS = 4096
KNOWN = "it answers hostname, cat /etc/os-release, echo, true, false, exit N, sh -c, cat, sh (tty, stty size)"
TERMINAL_NAME = "/dev/pts/0"


@dataclass(frozen=True)
class Machine:
    """What the simulated commands report: the host name and the operating system."""

    hostname: str
    os_name: str = "atoll simulated Linux"

    def os_release(self) -> str:
        return f'NAME="{self.os_name}"\nID=atoll-sim\nPRETTY_NAME="{self.os_name}"\n'


def answer(argv: Sequence[str], machine: Machine) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a one-shot command; see the module docstring."""
    if not argv:
        return 0, "", ""
    name, args = argv[0].rsplit("/", 1)[-1], list(argv[1:])
    if name == "hostname":
        return 0, machine.hostname + "\n", ""
    if name == "echo":
        return 0, " ".join(args) + "\n", ""
    if name in ("true", "false"):
        return (0 if name == "true" else 1), "", ""
    if name == "exit":
        return (int(args[0]) % 256 if args and args[0].isdigit() else 0), "", ""
    if name == "cat" and args == ["/etc/os-release"]:
        return 0, machine.os_release(), ""
    if name in ("sh", "bash") and len(args) == 2 and args[0] == "-c":
        try:
            return answer(shlex.split(args[1]), machine)
        except ValueError as err:
            return 2, "", f"sh: syntax error: {err}\n"
    return NOT_FOUND, "", f"sh: {argv[0][:200]}: not found in the simulated runtime ({KNOWN})\n"


class ScriptedIO:
    """The program's side of a session: its input lines and its output."""

    def __init__(self, tty: bool, rows: int = 24, cols: int = 80) -> None:
        self.tty = tty
        self.size = (rows, cols)  # the terminal's, when ``tty``
        self.output: asyncio.Queue[Output] = asyncio.Queue(QUEUE_FRAMES)
        self.input: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_FRAMES)  # b"" is the end of input
        self._pending = bytearray()  # what was typed after the line readline returned

    async def write(self, text: str, stream: int = STDOUT) -> None:
        if text:
            data = text.replace("\n", "\r\n") if self.tty else text
            await self.output.put(Output(STDERR if stream == STDERR and not self.tty else STDOUT, data.encode()))

    async def readline(self) -> str | None:
        """The next line typed (without its end), None at the end of input. On a terminal the
        typed characters are echoed; Ctrl-C drops the line, Ctrl-D on an empty line ends input."""
        line = bytearray()
        while True:
            if not self._pending:
                data = await self.input.get()
                if not data:
                    return line.decode(errors="replace") if line else None
                self._pending += data
            char = bytes(self._pending[:1])
            del self._pending[:1]
            if char in (b"\r", b"\n"):
                if self.tty:
                    await self.write("\n")
                return line.decode(errors="replace")
            if self.tty and char == INTERRUPT:
                await self.write("^C\n")
                return ""
            if self.tty and char == END_OF_INPUT and not line:
                return None
            if len(line) < LINE_CHARS:
                line += char
                if self.tty:
                    await self.output.put(Output(STDOUT, char))


Program = Callable[[ScriptedIO], Awaitable[int]]


def program_for(argv: Sequence[str], machine: Machine, stdin: bool) -> Program:
    """The program ``argv`` runs in a simulated task (module docstring)."""
    name = argv[0].rsplit("/", 1)[-1] if argv else ""
    if stdin and name in ("sh", "bash") and len(argv) == 1:
        return lambda io: shell(io, machine, "# ")
    if stdin and name == "cat" and len(argv) == 1:
        return copy_input

    async def one_shot(io: ScriptedIO) -> int:
        code, out, err = answer(argv, machine)
        await io.write(out)
        await io.write(err, STDERR)
        return code

    return one_shot


async def copy_input(io: ScriptedIO) -> int:
    while data := await io.input.get():
        await io.output.put(Output(STDOUT, data))
    return 0


async def shell(io: ScriptedIO, machine: Machine, prompt: str) -> int:
    """Reads commands until ``exit`` or the end of input; returns the exit code."""
    code = 0
    while True:
        await io.write(prompt)
        line = await io.readline()
        if line is None:
            return code
        try:
            argv = shlex.split(line)
        except ValueError as err:
            await io.write(f"sh: syntax error: {err}\n", STDERR)
            code = 2
            continue
        code, out, err_text = _terminal_answer(argv, io) or answer(argv, machine)
        await io.write(out)
        await io.write(err_text, STDERR)
        if argv and argv[0] == "exit":
            return code


def _terminal_answer(argv: Sequence[str], io: ScriptedIO) -> tuple[int, str, str] | None:
    """``tty`` and ``stty size`` in the interactive shell (from the session's terminal); None for
    any other command."""
    if argv == ["tty"]:
        return (0, TERMINAL_NAME + "\n", "") if io.tty else (1, "not a tty\n", "")
    if argv == ["stty", "size"]:
        return (0, f"{io.size[0]} {io.size[1]}\n", "") if io.tty else (1, "", "stty: standard input: Not a tty\n")
    return None


async def console(io: ScriptedIO, machine: Machine) -> int:
    """A VM's serial console: a login prompt (any user and password), then the shell."""
    while True:
        await io.write(f"\n{machine.os_name} {machine.hostname} ttyS0\n\n{machine.hostname} login: ")
        user = await io.readline()
        if user is None:
            return 0
        if not user:
            continue
        await io.write("Password: ")
        if await io.readline() is None:
            return 0
        await io.write(f"Welcome to {machine.os_name}\n")
        await shell(io, machine, f"{user[:32]}@{machine.hostname}:~$ ")


async def http_port(io: ScriptedIO, machine: Machine, port: int) -> int:
    """A simulated port: reads a request's head, answers one plain-text HTTP response, closes."""
    request = bytearray()
    while b"\r\n\r\n" not in request and len(request) < LINE_CHARS:
        data = await io.input.get()
        if not data:
            break
        request += data
    body = f"simulated {machine.hostname} port {port}\n"
    await io.write(f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    return 0


class ScriptedSession:
    """Implements ``ProcessSession`` (agent/drivers/session.py) for a simulated program."""

    def __init__(self, program: Program, tty: bool, rows: int = 24, cols: int = 80) -> None:
        self._io = ScriptedIO(tty, rows, cols)
        self._task = asyncio.create_task(self._run(program), name="sim-session")
        self._code: int | None = None

    async def _run(self, program: Program) -> int:
        """Run the program, then put the end after its output; a hangup (cancel) puts the end at
        once, dropping output nobody read, so that closing never waits on a reader that stopped."""
        try:
            code = await program(self._io)
        except asyncio.CancelledError:
            while self._io.output.full():
                self._io.output.get_nowait()
            self._io.output.put_nowait(EOF)
            raise
        except BaseException:
            with contextlib.suppress(asyncio.CancelledError):
                await self._io.output.put(EOF)
            raise
        with contextlib.suppress(asyncio.CancelledError):
            await self._io.output.put(EOF)
        return code

    async def read(self) -> Output:
        output = await self._io.output.get()
        if output.eof:
            self._io.output.put_nowait(EOF)  # every later read sees the end too
        return output

    async def write(self, data: bytes) -> None:
        if data and not self._task.done():
            await self._io.input.put(data)

    async def close_stdin(self) -> None:
        if not self._task.done():
            await self._io.input.put(END_OF_INPUT if self._io.tty else b"")

    def resize(self, rows: int, cols: int) -> None:
        """The terminal's new size (what ``stty size`` says from now on)."""
        if self._io.tty and rows > 0 and cols > 0:
            self._io.size = (rows, cols)

    async def wait(self) -> int:
        if self._code is None:
            try:
                self._code = await asyncio.shield(self._task)
            except asyncio.CancelledError:
                if not self._task.cancelled():
                    raise
                self._code = HANGUP_EXIT
        return self._code

    async def hangup(self) -> None:
        if not self._task.done():
            self._task.cancel()
        await self.wait()

    async def close(self) -> None:
        await self.hangup()
