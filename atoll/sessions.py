"""Sessions into workloads (proto/atoll/v1/access.proto): the capabilities, the one rule for
which kinds each one reaches, and the client's side of a session stream.

A capability is also the verb a role grants for it (``exec`` on kind Pod lets ``atoll exec`` into
pods), as Kubernetes' ``pods/exec`` subresource.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from atoll.user_text import bounded_repr
from atoll.v1 import access_pb2

EXEC = "exec"
ATTACH = "attach"
CONSOLE = "console"
PORT_FORWARD = "port-forward"
# capability -> the kinds it reaches
KINDS_OF: dict[str, tuple[str, ...]] = {
    EXEC: ("Pod",),
    ATTACH: ("Pod",),
    CONSOLE: ("VirtualMachine",),
    PORT_FORWARD: ("Pod", "VirtualMachine"),
}
CAPABILITIES = tuple(KINDS_OF)
MAX_COMMAND_ARGS = 256
MAX_COMMAND_BYTES = 64 * 1024
# After its exit frame a server keeps the stream open until the client closes its side (or cancels),
# at most this long: input the client sent as the process ended is then dropped there, never a
# write into a finished call (which gRPC reports as INTERNAL "Internal error from Core" and which
# hides the exit status the client had not read yet).
END_GRACE_SECONDS = 5.0


def start_problem(start: access_pb2.SessionStart) -> str | None:
    """What is wrong with a session's first frame, as one line; None when it is valid. Checks
    what needs no lookup: a known capability, a kind it reaches, a name, a bounded command."""
    if start.capability not in KINDS_OF:
        return f"unknown capability {bounded_repr(start.capability)}; one of: {', '.join(CAPABILITIES)}"
    if start.kind not in KINDS_OF[start.capability]:
        reached = " or ".join(KINDS_OF[start.capability])
        return f"{start.capability} reaches a {reached}, not {bounded_repr(start.kind or '(no kind)')}"
    if not start.name:
        return "the workload's name is empty"
    if start.capability == EXEC and not start.command:
        return "exec needs a command (after --)"
    if len(start.command) > MAX_COMMAND_ARGS or sum(len(arg) for arg in start.command) > MAX_COMMAND_BYTES:
        return f"the command is too long (at most {MAX_COMMAND_ARGS} arguments, {MAX_COMMAND_BYTES} bytes)"
    if start.capability == PORT_FORWARD and not 0 < start.port < 65536:
        return f"port {start.port} is not a TCP port (1-65535)"
    return None


@dataclass(frozen=True)
class Exited:
    """The remote side ended: its exit code and, when it did not end by itself, why."""

    code: int
    reason: str = ""


class SessionStream:
    """One open session (``Client.open_session``). Write with ``send``/``resize``/``close_stdin``,
    read the output with ``async for stream, data in session.output()``; ``exit`` holds how it
    ended once the output is over. gRPC errors are raised as ``wrap(error)`` (the client's
    ApiError: one line) by the reads; a write never fails: once the stream has ended, what is
    written is dropped and ``output()`` tells how it ended. Each write waits until gRPC took the
    frame (flow control)."""

    def __init__(self, call: Any, wrap: Callable[[grpc.RpcError], Exception]) -> None:
        self._call = call
        self._wrap = wrap
        self.exit: Exited | None = None
        self._ended = False
        self._write_failed = False

    async def _write(self, frame: access_pb2.SessionFrame) -> None:
        if self._ended:
            return
        try:
            await self._call.write(frame)
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
            self._write_failed = True  # the stream ended under the write: the reads say how

    async def started(self, start: access_pb2.SessionStart) -> None:
        """Send the first frame and wait for the remote side's ``started`` (or its refusal)."""
        await self._write(access_pb2.SessionFrame(start=start))
        async for _ in self._frames(until_started=True):
            pass

    async def send(self, data: bytes) -> None:
        await self._write(access_pb2.SessionFrame(stdin=data))

    async def close_stdin(self) -> None:
        await self._write(access_pb2.SessionFrame(stdin_closed=True))

    async def resize(self, rows: int, cols: int) -> None:
        await self._write(access_pb2.SessionFrame(resize=access_pb2.WindowSize(rows=rows, cols=cols)))

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(1, bytes) for stdout, (2, bytes) for stderr, until the remote side exits."""
        async for item in self._frames(until_started=False):
            yield item

    async def _frames(self, *, until_started: bool) -> AsyncIterator[tuple[int, bytes]]:
        while True:
            try:
                frame = await self._call.read()
            except grpc.aio.AioRpcError as err:
                self._ended = True
                if self._write_failed and err.code() == grpc.StatusCode.INTERNAL:
                    # gRPC put its own INTERNAL status in place of the stream's after the failed write
                    raise self._wrap(_Ended(grpc.StatusCode.UNAVAILABLE,
                                            "the session ended while input was sent to it")) from None
                raise self._wrap(err) from None
            if frame is grpc.aio.EOF:
                self._ended = True
                code = await self._call.code()
                if code != grpc.StatusCode.OK:
                    raise self._wrap(_Ended(code, await self._call.details()))
                if until_started:
                    raise self._wrap(_Ended(grpc.StatusCode.UNAVAILABLE, "the session ended before it started"))
                return
            which = frame.WhichOneof("frame")
            if which == "started" and until_started:
                return
            if which == "stdout":
                yield 1, frame.stdout
            elif which == "stderr":
                yield 2, frame.stderr
            elif which == "exit":
                self.exit = Exited(frame.exit.code, frame.exit.reason)
                self._ended = True
                return

    def cancel(self) -> None:
        """Hang up: the remote process gets SIGHUP."""
        self._call.cancel()


class _Ended(grpc.RpcError):
    """A stream that ended with a status and no exception (``code()``/``details()`` as AioRpcError)."""

    def __init__(self, code: grpc.StatusCode, details: str | None) -> None:
        super().__init__(details)
        self._code, self._details = code, details or ""

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def exec_start(namespace: str, name: str, command: Sequence[str], *, container: str = "", stdin: bool = False,
               tty: bool = False, rows: int = 24, cols: int = 80) -> access_pb2.SessionStart:
    """The first frame of ``atoll exec``."""
    return access_pb2.SessionStart(
        capability=EXEC, kind="Pod", namespace=namespace, name=name, container=container, command=list(command),
        stdin=stdin, tty=tty, size=access_pb2.WindowSize(rows=rows, cols=cols),
    )
