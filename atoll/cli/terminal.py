"""The local end of a session (``atoll exec``, ``attach``, ``console``): the user's terminal in raw
mode, its size changes, stdin copied to the session and the session's output to stdout/stderr.

Raw mode (``-t`` on a terminal) hands every key to the remote side: Ctrl-C reaches the remote
process as the byte it is, and the terminal is restored on every way out (exit, error, Ctrl-C,
an exception). Without a terminal, Ctrl-C interrupts ``atoll`` itself, which hangs the session
up (the remote process gets SIGHUP).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import termios
import tty
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import IO, Any

from atoll.cli.common import CliError
from atoll.client import Client
from atoll.fd_wait import readable
from atoll.sessions import SessionStream
from atoll.v1 import access_pb2

READ_BYTES = 32 * 1024
# atoll console's escape (virtctl's): Ctrl-] detaches.
ESCAPE = b"\x1d"


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """``fd`` (a terminal) in raw mode for the block; restored afterwards whatever happens."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size(fd: int) -> tuple[int, int]:
    """(rows, cols) of terminal ``fd``; 24x80 when it has none."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        fallback = shutil.get_terminal_size()
        return fallback.lines, fallback.columns
    return size.lines, size.columns


@contextlib.contextmanager
def forward_resizes(fd: int, resize: Callable[[int, int], Coroutine[Any, Any, None]]) -> Iterator[None]:
    """Sends each new size of terminal ``fd`` (SIGWINCH) to ``resize`` while the block runs."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def changed() -> None:
        task = loop.create_task(resize(*terminal_size(fd)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGWINCH, changed)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGWINCH)
        for task in tasks:
            task.cancel()


async def read_chunks(fd: int) -> Callable[[], Awaitable[bytes]]:
    """A reader of ``fd`` returning the bytes available (b"" at its end), without blocking the
    loop: a terminal or pipe is waited on with the loop; a regular file never blocks."""

    async def from_poll() -> bytes:
        await readable([fd])
        return os.read(fd, READ_BYTES)

    async def from_file() -> bytes:
        return os.read(fd, READ_BYTES)

    loop = asyncio.get_running_loop()
    try:
        loop.add_reader(fd, lambda: None)
    except PermissionError:  # epoll refuses regular files
        return from_file
    loop.remove_reader(fd)
    return from_poll


async def copy_stdin(session: SessionStream, fd: int, *, escape: bool = False) -> bool:
    """Copies ``fd`` to the session until its end (then closes the session's stdin). With
    ``escape``, stops at Ctrl-] (returns True: the user detached) without sending it."""
    read = await read_chunks(fd)
    while data := await read():
        if escape and ESCAPE in data:
            before = data.split(ESCAPE, 1)[0]
            if before:
                await session.send(before)
            return True
        await session.send(data)
    await session.close_stdin()
    return False


def write_output(out: IO[Any], data: bytes) -> None:
    """Writes ``data`` to a text stream as bytes when it has a binary buffer (a real stdout)."""
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        out.write(data.decode(errors="replace"))
        out.flush()


async def pump(session: SessionStream, streams: Any, stdin_fd: int | None) -> int:
    """Copies ``stdin_fd`` (None: nothing) to the session and its output to ``streams`` (out,
    err; atoll.cli.common.Streams) until the remote side exits; returns its exit code. The
    session is hung up on the way out, whatever ends it."""
    feeding = asyncio.create_task(copy_stdin(session, stdin_fd)) if stdin_fd is not None else None
    try:
        async for stream, data in session.output():
            write_output(streams.err if stream == 2 else streams.out, data)
    finally:
        if feeding is not None:
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feeding
        session.cancel()
    ended = session.exit
    if ended is None:
        raise CliError("the session ended without an exit status")
    if ended.reason:
        streams.error(f"atoll: {ended.reason}")
    return ended.code


async def run_session(client: Client, start: access_pb2.SessionStart, streams: Any, fd: int, *, hint: str = "") -> int:
    """Opens the session ``start`` asks for (exec, attach) and pumps it with ``fd`` as stdin
    (read only with ``start.stdin``) until the remote side exits; its exit code. ``hint`` goes to
    stderr once the session is open. With
    ``start.tty`` and ``start.stdin`` on a terminal ``fd``: the session starts at the terminal's
    size, the terminal is raw while it runs and every size change follows it."""
    on_terminal = start.tty and start.stdin and fd >= 0 and os.isatty(fd)
    if on_terminal:
        rows, cols = terminal_size(fd)
        start.size.CopyFrom(access_pb2.WindowSize(rows=rows, cols=cols))
    session = await client.open_session(start)
    if hint:
        streams.error(hint)
    with contextlib.ExitStack() as stack:
        if on_terminal:
            stack.enter_context(raw_terminal(fd))
            stack.enter_context(forward_resizes(fd, session.resize))
        return await pump(session, streams, fd if start.stdin else None)
