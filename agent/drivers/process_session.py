"""A ``ProcessSession`` over a host process the agent starts (``runc exec``, ``crun exec``).

With a terminal the agent owns the pseudo-terminal: the process's stdin, stdout and stderr are
its slave side (the runtime sees a terminal and gives the container process one of its own,
copying between them), the agent reads and writes the master side. A resize sets the master's
window size and sends SIGWINCH to the process, which passes the new size on. Without a terminal
there are three pipes. Nothing is read ahead: ``read`` waits until a descriptor is readable and
reads one chunk, so output the client does not take stays in the kernel's pipe (bounded) and
the process blocks writing, as it would on a slow terminal.

``hangup`` sends SIGHUP to the process (the runtime forwards it to the container process), then
after ``HANGUP_GRACE`` kills it and what ``kill_extra`` names (the container process itself,
whose pid the runtime wrote down: killing only the runtime would leave it running).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import pty
import signal
import struct
import termios
import tty
from collections.abc import Callable, Sequence

from agent.drivers.session import CHUNK_BYTES, EOF, STDERR, STDOUT, ExecOptions, Output
from atoll.fd_wait import readable, writable

HANGUP_GRACE = 2.0
# The process's exit status -> the session's exit code and a line for stderr ('' for none).
Explain = Callable[[int], tuple[int, str]]
CTRL_D = b"\x04"


class HostProcessSession:
    """Implements ``ProcessSession``. Build it with ``start``.

    ``explain(returncode)``: the session's exit code and a line for stderr ('' for none) from
    the process's exit status (the runtime's own failure to start a command becomes 126/127 and
    its words); ``kill_extra()``: pids to SIGKILL when the
    process does not end after SIGHUP; ``cleanup()``: runs once on close."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        readers: dict[int, int],
        stdin_fd: int | None,
        master: int | None,
        explain: Explain,
        kill_extra: Callable[[], Sequence[int]],
        cleanup: Callable[[], None],
    ) -> None:
        self._process = process
        self._readers = readers  # fd -> STDOUT/STDERR
        self._stdin = stdin_fd
        self._master = master
        self._explain = explain
        self._explained: tuple[int, str] | None = None
        self._kill_extra = kill_extra
        self._cleanup = cleanup
        self._closed = False
        self.size = (0, 0)  # the terminal's last size (rows, cols)

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        options: ExecOptions,
        *,
        explain: Explain = lambda code: (code, ""),
        kill_extra: Callable[[], Sequence[int]] = tuple,
        cleanup: Callable[[], None] = lambda: None,
    ) -> HostProcessSession:
        """Start ``argv`` (OSError when it cannot be executed) wired as ``options`` say."""
        if options.tty:
            master, slave = pty.openpty()
            tty.setraw(slave)  # a transport only: the terminal the command sees is the runtime's own
            _set_size(master, options.rows, options.cols)
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
                )
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
            os.set_blocking(master, False)
            session = cls(process, {master: STDOUT}, master, master, explain, kill_extra, cleanup)
            session.size = (options.rows, options.cols)
            return session
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if options.stdin else (None, None)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=in_r if in_r is not None else asyncio.subprocess.DEVNULL,
                stdout=out_w,
                stderr=err_w,
                start_new_session=True,
            )
        except BaseException:
            for fd in (out_r, err_r, in_w):
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in (out_w, err_w, in_r):
                if fd is not None:
                    os.close(fd)
        for fd in (out_r, err_r, in_w):
            if fd is not None:
                os.set_blocking(fd, False)
        return cls(process, {out_r: STDOUT, err_r: STDERR}, in_w, None, explain, kill_extra, cleanup)

    async def read(self) -> Output:
        while self._readers:
            fd = await readable(list(self._readers))
            try:
                data = os.read(fd, CHUNK_BYTES)
            except BlockingIOError:
                continue
            except OSError as err:
                if err.errno != errno.EIO:  # a terminal's master reads EIO once the slave side is gone
                    raise
                data = b""
            if data:
                return Output(self._readers[fd], data)
            del self._readers[fd]
            if fd != self._master:
                os.close(fd)
        if self._explained is None:
            self._explained = self._explain(await self._process.wait())
            if self._explained[1]:
                return Output(STDERR, self._explained[1].encode() + b"\n")
        return EOF

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self._stdin is not None and self._process.returncode is None:
            try:
                written = os.write(self._stdin, view)
            except BlockingIOError:
                await writable(self._stdin)
                continue
            except (BrokenPipeError, OSError):
                return  # the process no longer reads stdin
            view = view[written:]

    async def close_stdin(self) -> None:
        if self._stdin is None:
            return
        if self._master is not None:
            await self.write(CTRL_D)
            return
        os.close(self._stdin)
        self._stdin = None

    def resize(self, rows: int, cols: int) -> None:
        if self._master is None or self._process.returncode is not None:
            return
        self.size = (rows, cols)
        _set_size(self._master, rows, cols)
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGWINCH)

    async def wait(self) -> int:
        returncode = await self._process.wait()
        if self._explained is None:
            self._explained = self._explain(returncode)
        return self._explained[0]

    async def hangup(self) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGHUP)
            try:
                async with asyncio.timeout(HANGUP_GRACE):
                    await asyncio.shield(self._process.wait())
            except TimeoutError:
                for pid in self._kill_extra():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
                await self._process.wait()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.hangup()
        for fd in {*self._readers, *([self._stdin] if self._stdin is not None else [])}:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._readers.clear()
        self._stdin = None
        self._cleanup()


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(rows, 1), max(cols, 1), 0, 0))
