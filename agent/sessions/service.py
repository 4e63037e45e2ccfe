"""The agent's AgentSessions gRPC service: ``atoll exec``, ``attach``, ``console`` and
``port-forward`` sessions, each pumped between the API server's stream and a ``ProcessSession``
(a driver's; the container's log followed for attach: attach.py; a TCP connection for
port-forward: port_forward.py).

Served on the same endpoint as AgentLogs (agent/logs_service.py; mutual TLS admitting only the
API server, which authorized the user). One session:

    first frame: start -> find the task (agent/workload_target.py) -> the driver's ability opens
    a ProcessSession -> "started" -> two pumps until the process ends:
      stream -> session: stdin, stdin_closed, resize
      session -> stream: stdout/stderr, one chunk at a time (each written before the next read:
                         a slow client slows the process, nothing is buffered here)
    -> exit frame (code) -> session closed (nothing it started is left running).

The API server going away (client dropped, RPC cancelled) hangs the session up (SIGHUP). A
session with no frame either way for ``idle_timeout`` seconds is hung up and ends with an exit
frame saying so. At most ``max_per_node`` sessions per node are open at once (RESOURCE_EXHAUSTED).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from agent import metrics
from agent.drivers.abilities import Console, Exec, LogReader, StdinWriter, TerminalAttach
from agent.drivers.log_lines import LogQuery
from agent.drivers.protocol import DriverError, TaskNotFoundError
from agent.drivers.session import STDERR, ExecOptions, ProcessSession
from agent.node_agent import NodeAgent
from agent.sessions.attach import FollowSession
from agent.sessions.port_forward import PortUnreachableError, open_port
from agent.workload_target import Target, TargetError, find_target
from atoll import sessions
from atoll.tasks import cancel_and_wait
from atoll.user_text import bounded
from atoll.v1 import access_pb2, access_pb2_grpc

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
DEFAULT_IDLE_TIMEOUT = 900.0
DEFAULT_MAX_PER_NODE = 64


class SessionRefused(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AgentSessionsService(access_pb2_grpc.AgentSessionsServicer):
    def __init__(self, nodes: dict[str, NodeAgent], require_peer: str | None = None, *,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT, max_per_node: int = DEFAULT_MAX_PER_NODE) -> None:
        self.nodes = nodes
        self.idle_timeout = idle_timeout
        self.max_per_node = max_per_node
        self._require_peer = require_peer
        self._open: Counter[str] = Counter()

    # grpc.aio lets a stream handler write with context.write and return None (the stub types only
    # the generator form); writing explicitly lets both pumps run while frames go out one by one.
    async def Stream(  # type: ignore[override]
        self, request_iterator: AsyncIterator[access_pb2.SessionFrame], context: Context
    ) -> None:
        frames = aiter(request_iterator)
        try:
            self._check_peer(context)
            first = await anext(frames, None)
            if first is None or first.WhichOneof("frame") != "start":
                raise SessionRefused(grpc.StatusCode.INVALID_ARGUMENT, "a session starts with a start frame")
            start = first.start
            problem = sessions.start_problem(start)
            if problem is not None:
                raise SessionRefused(grpc.StatusCode.INVALID_ARGUMENT, problem)
            node = start.node_name
            if self._open[node] >= self.max_per_node:
                metrics.SESSIONS_REFUSED.inc()
                raise SessionRefused(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                     f"node {bounded(node)} has {self._open[node]} sessions open, the limit; "
                                     "try again when one ends")
            target, session = await self._open_session(start)
        except SessionRefused as refusal:
            await context.abort(refusal.code, refusal.message)
            return
        self._open[node] += 1
        capability = start.capability
        metrics.SESSIONS_OPEN.labels(capability).inc()
        began = time.monotonic()
        log.info("session %s of %s by %s opened: %s", capability, target.label, bounded(start.user),
                 bounded(" ".join(start.command)))
        pump = _Pump(session, frames, context, capability, self.idle_timeout)
        try:
            await context.write(access_pb2.SessionFrame(started=True))
            await context.write(await pump.run())
            await pump.client_closed(sessions.END_GRACE_SECONDS)
        finally:  # the bookkeeping first: the server's stop may cancel this handler again below
            self._open[node] -= 1
            if self._open[node] <= 0:
                del self._open[node]
            metrics.SESSIONS_OPEN.labels(capability).dec()
            metrics.SESSION_DURATION.labels(capability).observe(time.monotonic() - began)
            log.info("session %s of %s by %s closed", capability, target.label, bounded(start.user))
            try:
                await pump.stop()
            finally:
                await session.close()

    def open_sessions(self) -> dict[str, int]:
        """Sessions open now, per node."""
        return dict(self._open)

    def _check_peer(self, context: Context) -> None:
        if self._require_peer is None:
            return
        names = [value.decode() for value in context.auth_context().get("x509_common_name", [])]
        if self._require_peer not in names:
            raise SessionRefused(grpc.StatusCode.PERMISSION_DENIED,
                                 f"only {self._require_peer} opens sessions here; ask the API server")

    async def _open_session(self, start: access_pb2.SessionStart) -> tuple[Target, ProcessSession]:
        try:
            target = find_target(self.nodes, start.node_name, start.kind, start.namespace, start.name, start.uid,
                                 start.container, port_forward=start.capability == sessions.PORT_FORWARD)
        except TargetError as err:
            raise SessionRefused(err.code, err.message) from None
        driver = target.driver
        try:
            if start.capability == sessions.EXEC and isinstance(driver, Exec):
                rows, cols = _window(start)
                options = ExecOptions(tuple(start.command), stdin=start.stdin, tty=start.tty, rows=rows, cols=cols)
                return target, await driver.open_exec(target.task_id, options)
            if start.capability == sessions.CONSOLE and isinstance(driver, Console):
                return target, await driver.open_console(target.task_id)
            if start.capability == sessions.ATTACH and start.tty:
                return target, await _open_terminal(target, start)
            if start.capability == sessions.ATTACH and isinstance(driver, LogReader):
                return target, FollowSession(driver.logs(target.task_id, LogQuery(follow=True, tail=0)),
                                             _stdin_of(target, driver) if start.stdin else None)
            if start.capability == sessions.PORT_FORWARD:
                return target, await open_port(target, start.port)
        except PortUnreachableError as err:
            raise SessionRefused(grpc.StatusCode.FAILED_PRECONDITION, str(err)) from None
        except TaskNotFoundError:
            raise SessionRefused(grpc.StatusCode.FAILED_PRECONDITION,
                                 f"{target.label}: not running now (no task on the node)") from None
        except DriverError as err:
            raise SessionRefused(grpc.StatusCode.FAILED_PRECONDITION, f"{target.label}: {bounded(str(err))}") from None
        except OSError as err:
            raise SessionRefused(grpc.StatusCode.UNAVAILABLE,
                                 f"{target.label}: the runtime could not be started: {bounded(str(err))}") from None
        raise SessionRefused(grpc.StatusCode.FAILED_PRECONDITION,
                             f"{target.label}: driver {driver.name} has no {start.capability}")


async def _open_terminal(target: Target, start: access_pb2.SessionStart) -> ProcessSession:
    """``attach -t``: the container's own terminal; SessionRefused when it has none (kubectl's
    words), or for ``-i`` when it was started without stdin."""
    if not target.tty:
        raise SessionRefused(grpc.StatusCode.FAILED_PRECONDITION,
                             f"Unable to use a TTY - container {bounded(target.container)} of {target.label} did not "
                             "allocate one (tty: true in its spec); attach without -t")
    driver = target.driver
    if start.stdin:
        _stdin_of(target, driver)  # refuses a container without stdin as attach -i does
    if not isinstance(driver, TerminalAttach):
        raise SessionRefused(grpc.StatusCode.FAILED_PRECONDITION,
                             f"{target.label}: driver {driver.name} has no terminal attach")
    return await driver.open_terminal(target.task_id, *_window(start), stdin=start.stdin)


def _window(start: access_pb2.SessionStart) -> tuple[int, int]:
    """The terminal's rows and columns the client asked for; ExecOptions' defaults where it said none."""
    return start.size.rows or ExecOptions.rows, start.size.cols or ExecOptions.cols


def _stdin_of(target: Target, driver: object) -> Callable[[bytes], Awaitable[None]]:
    """A writer of ``target``'s stdin for ``attach -i``; SessionRefused when it has none."""
    if not target.stdin or not isinstance(driver, StdinWriter):
        raise SessionRefused(grpc.StatusCode.FAILED_PRECONDITION,
                             f"{target.label}: container {bounded(target.container)} was started without stdin "
                             "(stdin: true in its spec); attach without -i shows its output")
    return lambda data: driver.write_stdin(target.task_id, data)


class _Pump:
    """Moves frames both ways between one stream and one session until the session's output ends;
    after that, input still arriving is dropped until the client closes its side."""

    def __init__(self, session: ProcessSession, frames: AsyncIterator[access_pb2.SessionFrame], context: Context,
                 capability: str, idle_timeout: float) -> None:
        self._session = session
        self._frames = frames
        self._context = context
        self._idle_timeout = idle_timeout
        self._last = time.monotonic()
        self._bytes_in = metrics.SESSION_BYTES.labels(capability, "in")
        self._bytes_out = metrics.SESSION_BYTES.labels(capability, "out")
        self._idle = False
        self._ended = False
        self._tasks: list[asyncio.Task[None]] = []

    async def run(self) -> access_pb2.SessionFrame:
        """Pump until the session ends; its exit frame."""
        self._tasks = [asyncio.create_task(self._inbound(), name="session-in"),
                       asyncio.create_task(self._watchdog(), name="session-idle")]
        await self._outbound()
        code = await self._session.wait()
        self._ended = True
        reason = f"session idle for {self._idle_timeout:g} s: hung up" if self._idle else ""
        return access_pb2.SessionFrame(exit=access_pb2.ExitStatus(code=code, reason=reason))

    async def client_closed(self, grace: float) -> None:
        """Wait (at most ``grace`` seconds) until the client closed its side of the stream."""
        await asyncio.wait(self._tasks[:1], timeout=grace)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def _outbound(self) -> None:
        while True:
            output = await self._session.read()
            if output.eof:
                return
            self._last = time.monotonic()
            self._bytes_out.inc(len(output.data))
            frame = (access_pb2.SessionFrame(stderr=output.data) if output.stream == STDERR
                     else access_pb2.SessionFrame(stdout=output.data))
            await self._context.write(frame)

    async def _inbound(self) -> None:
        async for frame in self._frames:
            self._last = time.monotonic()
            if self._ended:
                continue  # crossed the end: dropped (see sessions.END_GRACE_SECONDS)
            which = frame.WhichOneof("frame")
            if which == "stdin":
                self._bytes_in.inc(len(frame.stdin))
                await self._session.write(frame.stdin)
            elif which == "stdin_closed":
                await self._session.close_stdin()
            elif which == "resize":
                self._session.resize(frame.resize.rows, frame.resize.cols)

    async def _watchdog(self) -> None:
        while True:
            remaining = self._last + self._idle_timeout - time.monotonic()
            if remaining <= 0:
                self._idle = True
                await self._session.hangup()
                return
            await asyncio.sleep(remaining)
