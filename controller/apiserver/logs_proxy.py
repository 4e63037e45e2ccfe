"""The atoll.v1.Logs servicer: ``atoll logs`` asks the API server, which forwards to the agent of
the workload's node (agent_route.py finds it). Errors are one line (agent_route.py); the agent
being unreachable is UNAVAILABLE; errors the agent reports are passed through with their code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import grpc

from atoll.v1 import agent_pb2, agent_pb2_grpc
from controller.apiserver.agent_route import AgentRoutes, unreachable
from controller.apiserver.errors import StatusError
from controller.apiserver.handlers import CallGuard

Context = grpc.aio.ServicerContext[Any, Any]


class LogsProxy(agent_pb2_grpc.LogsServicer):
    """With ``guard`` (secure mode), reading logs needs permission to get the workload, and counts
    against the caller's stream limit like a watch."""

    def __init__(self, routes: AgentRoutes, guard: CallGuard | None = None) -> None:
        self._routes = routes
        self._guard = guard

    async def Read(self, request: agent_pb2.LogsRequest, context: Context) -> AsyncIterator[agent_pb2.LogChunk]:
        async for chunk in await self.open(request, context):
            yield chunk

    async def open(self, request: agent_pb2.LogsRequest, context: Context) -> AsyncIterator[agent_pb2.LogChunk]:
        """Admits the read (aborting ``context`` when refused), then returns its chunks; the HTTP
        API calls this too, so both read logs through one guarded path."""
        if not request.kind:
            request.kind = "Pod"
        if self._guard is None:
            return self._read(request, context)
        return await self._guard.stream("Get", request, context, lambda: self._read(request, context))

    async def _read(self, request: agent_pb2.LogsRequest, context: Context) -> AsyncIterator[agent_pb2.LogChunk]:
        try:
            route = await self._routes.route(request.kind, request.namespace, request.name, "logs")
        except StatusError as err:
            await context.abort(err.code, err.message)
            return
        forwarded = agent_pb2.LogsRequest()
        forwarded.CopyFrom(request)
        forwarded.kind, forwarded.namespace = route.kind.name, route.namespace
        forwarded.node_name, forwarded.uid = route.node_name, route.uid
        channel = self._routes.channel(route.endpoint)
        stub = cast("agent_pb2_grpc.AgentLogsAsyncStub", agent_pb2_grpc.AgentLogsStub(channel))
        try:
            async for chunk in stub.Read(forwarded):
                yield chunk
        except grpc.aio.AioRpcError as err:
            details = err.details() or ""
            if err.code() == grpc.StatusCode.UNAVAILABLE:
                details = unreachable(route.node_name, route.endpoint, details)
            await context.abort(err.code(), details)


def add_logs_service(server: grpc.aio.Server, routes: AgentRoutes, guard: CallGuard | None = None) -> LogsProxy:
    """Serve atoll.v1.Logs on ``server``."""
    proxy = LogsProxy(routes, guard)
    agent_pb2_grpc.add_LogsServicer_to_server(proxy, server)
    return proxy
