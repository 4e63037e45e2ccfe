"""The atoll.v1.Sessions servicer: ``atoll exec``, ``attach``, ``console`` and ``port-forward``
through the API server to the agent of the workload's node (agent_route.py), frame by frame.

    client --start--> check it (atoll.sessions.start_problem) -> guard.session: authenticate,
      authorize the capability as the verb, per-user cap, audit "started" -> route to the node's
      agent -> start (node, uid, user filled in) -> AgentSessions.Stream
    then two pumps, each writing a frame before reading the next (no queue here: gRPC's flow
    control reaches from the client to the process), until the agent's exit frame and the client's
    close of its side (atoll.sessions.END_GRACE_SECONDS); audit "ended".

The client going away cancels the agent's stream (the process gets SIGHUP there). The agent going
away mid-session (restart, crash) ends the client's stream with UNAVAILABLE and one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol, cast

import grpc

from atoll import sessions
from atoll.v1 import access_pb2, access_pb2_grpc
from controller.apiserver import metrics
from controller.apiserver.agent_route import AgentRoutes, unreachable
from controller.apiserver.errors import StatusError

Context = grpc.aio.ServicerContext[Any, Any]


class SessionGuard(Protocol):
    """Admits, limits and audits one session (auth/guard.py ``SecurityGuard.session``)."""

    def session(self, start: access_pb2.SessionStart, context: Context) -> contextlib.AbstractAsyncContextManager[str]:
        ...


class SessionsProxy(access_pb2_grpc.SessionsServicer):
    def __init__(self, routes: AgentRoutes, guard: SessionGuard | None = None) -> None:
        self._routes = routes
        self._guard = guard

    # grpc.aio lets a stream handler write with context.write and return None (the stub types only
    # the generator form); both pumps run at once, so the handler writes explicitly.
    async def Stream(  # type: ignore[override]
        self, request_iterator: AsyncIterator[access_pb2.SessionFrame], context: Context
    ) -> None:
        frames = aiter(request_iterator)
        first = await anext(frames, None)
        if first is None or first.WhichOneof("frame") != "start":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a session starts with a start frame")
            return
        start = first.start
        start.kind = start.kind or "Pod"
        start.namespace = start.namespace or "default"
        problem = sessions.start_problem(start)
        if problem is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
            return
        if self._guard is None:
            await self._forward(start, "", frames, context)
            return
        async with self._guard.session(start, context) as user:
            await self._forward(start, user, frames, context)

    async def _forward(self, start: access_pb2.SessionStart, user: str,
                       frames: AsyncIterator[access_pb2.SessionFrame], context: Context) -> None:
        try:
            route = await self._routes.route(start.kind, start.namespace, start.name, start.capability)
        except StatusError as err:
            await context.abort(err.code, err.message)
            return
        forwarded = access_pb2.SessionStart()
        forwarded.CopyFrom(start)
        forwarded.kind, forwarded.namespace = route.kind.name, route.namespace
        forwarded.node_name, forwarded.uid, forwarded.user = route.node_name, route.uid, user
        stub = cast("access_pb2_grpc.AgentSessionsAsyncStub",
                    access_pb2_grpc.AgentSessionsStub(self._routes.channel(route.endpoint)))
        capability = start.capability
        call = stub.Stream()
        bytes_in = metrics.SESSION_BYTES.labels(capability, "in")
        bytes_out = metrics.SESSION_BYTES.labels(capability, "out")
        metrics.SESSIONS_OPEN.labels(capability).inc()
        began = time.monotonic()

        async def inbound() -> None:
            async for frame in frames:
                if frame.WhichOneof("frame") in ("stdin", "stdin_closed", "resize"):
                    bytes_in.inc(len(frame.stdin))
                    await call.write(frame)
            await call.done_writing()

        pump: asyncio.Task[None] | None = None
        try:
            await call.write(access_pb2.SessionFrame(start=forwarded))
            pump = asyncio.create_task(inbound(), name="session-forward-in")
            while True:
                received = await call.read()
                if received is grpc.aio.EOF:
                    break
                frame = cast("access_pb2.SessionFrame", received)
                bytes_out.inc(len(frame.stdout) + len(frame.stderr))
                await context.write(frame)
                if frame.WhichOneof("frame") == "exit":
                    # input crossing the end still goes to the agent, which drops it; see END_GRACE_SECONDS
                    await asyncio.wait({pump}, timeout=sessions.END_GRACE_SECONDS)
                    break
        except grpc.aio.AioRpcError as err:
            code, details = err.code(), err.details() or ""
            if code == grpc.StatusCode.UNAVAILABLE:
                details = unreachable(route.node_name, route.endpoint, details)
            elif code == grpc.StatusCode.CANCELLED:
                code, details = grpc.StatusCode.UNAVAILABLE, f"the agent of node {route.node_name} ended the session"
            await context.abort(code, details)
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError, grpc.aio.UsageError):
                    await pump
            call.cancel()
            metrics.SESSIONS_OPEN.labels(capability).dec()
            metrics.SESSION_DURATION.labels(capability).observe(time.monotonic() - began)


def add_sessions_service(server: grpc.aio.Server, routes: AgentRoutes, guard: SessionGuard | None = None) -> None:
    """Serve atoll.v1.Sessions on ``server``."""
    access_pb2_grpc.add_SessionsServicer_to_server(SessionsProxy(routes, guard), server)
