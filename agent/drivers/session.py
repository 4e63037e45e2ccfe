"""One interactive connection into a running task: an exec'd process, a VM's serial console.

The agent's session service (agent/sessions/) pumps a ``ProcessSession`` to and from the API
server's stream. Every method is flow controlled: ``read`` returns at most one chunk that the
runtime already produced and reads nothing ahead, so a consumer that stops calling it stops the
process (its pipe or terminal fills); ``write`` returns once the bytes were taken.

    open ---> read/write/resize ... ---> read returns EOF ---> wait() -> exit code ---> close()
       \\--------------------------------> hangup() (client gone, idle) -----------/

Contract: ``close`` is always called once, and afterwards nothing the session started is left
running (unless the runtime keeps it on purpose: a VM's console only detaches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

STDOUT = 1
STDERR = 2
# A chunk of output at most this big: one gRPC frame, small against the 64 KiB HTTP/2 window.
CHUNK_BYTES = 32 * 1024


@dataclass(frozen=True)
class Output:
    """``stream``: STDOUT or STDERR; ``data`` empty means no more output will come."""

    stream: int
    data: bytes

    @property
    def eof(self) -> bool:
        return not self.data


EOF = Output(STDOUT, b"")


@dataclass(frozen=True)
class ExecOptions:
    """What ``atoll exec`` asks for: ``argv`` run in the task; ``stdin``: the client sends input
    (else the process reads EOF at once); ``tty``: a pseudo-terminal of ``rows`` x ``cols``
    (stdout and stderr merge into it)."""

    argv: tuple[str, ...]
    stdin: bool = False
    tty: bool = False
    rows: int = 24
    cols: int = 80


@runtime_checkable
class ProcessSession(Protocol):
    async def read(self) -> Output:
        """The next chunk of output (at most CHUNK_BYTES), waiting for it; EOF (empty data) once
        the process ended and everything it wrote was read. Never raises for the process's end."""

    async def write(self, data: bytes) -> None:
        """Give ``data`` to the process's stdin (or the console); dropped silently after it ended."""

    async def close_stdin(self) -> None:
        """The process reads EOF from now on (a terminal gets its EOF character, Ctrl-D)."""

    def resize(self, rows: int, cols: int) -> None:
        """The terminal's new size (the process gets SIGWINCH); ignored without a terminal."""

    async def wait(self) -> int:
        """The exit code once the process ended: 128+N for signal N; 126 not executable, 127 not
        found (as a shell). A console returns 0 when it was detached."""

    async def hangup(self) -> None:
        """The client is gone: SIGHUP to the process, SIGKILL after a short grace when it stays.
        Idempotent; returns when the process ended."""

    async def close(self) -> None:
        """Release what the session holds (descriptors, sockets); hangs up first if needed."""


class AttachedSession:
    """Implements ``ProcessSession`` over ``inner``, the container's own terminal, as one attach
    sees it: without ``stdin`` what is written is dropped (the client may watch, not type); the
    end of the client's input leaves the container's open for the next attach (Kubernetes'
    default, no stdinOnce); ``wait`` is 0, as for every attach."""

    def __init__(self, inner: ProcessSession, *, stdin: bool) -> None:
        self._inner = inner
        self._stdin = stdin

    async def read(self) -> Output:
        return await self._inner.read()

    async def write(self, data: bytes) -> None:
        if self._stdin:
            await self._inner.write(data)

    async def close_stdin(self) -> None:
        """The container's input stays open."""

    def resize(self, rows: int, cols: int) -> None:
        self._inner.resize(rows, cols)

    async def wait(self) -> int:
        """0: an attach tells no exit code (the container's is in its status)."""
        await self._inner.wait()
        return 0

    async def hangup(self) -> None:
        await self._inner.hangup()

    async def close(self) -> None:
        await self._inner.close()
