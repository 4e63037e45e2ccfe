"""The agent's AgentLogs gRPC service: a workload's output, read through its driver's LogReader;
its server also carries AgentSessions (agent/sessions/service.py: exec, console).

One server per agent process; a hollow fleet registers all of its nodes on one server, and the
request's ``node_name`` picks the node. The address is published on each Node as the
``atoll.dev/agent-endpoint`` annotation, where the API server's Logs proxy finds it.

When the agent has a certificate (any non --dev cluster) the endpoint is mutual TLS with the
agent's own certificate, and only the API server's identity may read: users go through the API
server, which authorizes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc

from agent.drivers.abilities import KeepsPreviousLogs, LogReader, PreviousLogNotFoundError
from agent.drivers.log_lines import LogLine, LogQuery, stamped
from agent.drivers.protocol import DriverError, TaskNotFoundError
from agent.node_agent import NodeAgent
from agent.sessions.service import AgentSessionsService
from agent.workload_target import Target, TargetError, find_target
from atoll.config import ClientConfig
from atoll.pki import APISERVER_USER
from atoll.user_text import bounded
from atoll.v1 import access_pb2_grpc, agent_pb2, agent_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]
LINES_PER_CHUNK = 100


class AgentLogsService(agent_pb2_grpc.AgentLogsServicer):
    def __init__(self, require_peer: str | None = None) -> None:
        self.nodes: dict[str, NodeAgent] = {}
        self._require_peer = require_peer

    async def Read(self, request: agent_pb2.LogsRequest, context: Context) -> AsyncIterator[agent_pb2.LogChunk]:
        if self._require_peer is not None:
            names = [value.decode() for value in context.auth_context().get("x509_common_name", [])]
            if self._require_peer not in names:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                    f"only {self._require_peer} reads logs here; ask the API server")
                return
        try:
            target = find_target(self.nodes, request.node_name, request.kind, request.namespace, request.name,
                                 request.uid, request.container)
            query = log_query(request, self.nodes[request.node_name].ctx.clock.now())
        except TargetError as err:
            await context.abort(err.code, err.message)
            return
        driver, task, label = target.driver, target.task_id, target.label
        if not isinstance(driver, LogReader):
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{label}: driver {driver.name} keeps no logs")
            return
        try:
            chunk = agent_pb2.LogChunk()
            if query.previous and target.is_vm:  # a VM's runs are tasks of their own: the one before
                if not target.previous_task_id:
                    raise PreviousLogNotFoundError("no run before this one")
                task = target.previous_task_id
            async for line in _lines(driver, task, query):
                chunk.lines.append(stamped(line) if query.timestamps else line.text)
                if len(chunk.lines) >= LINES_PER_CHUNK or request.follow:
                    yield chunk
                    chunk = agent_pb2.LogChunk()
            if chunk.lines:
                yield chunk
        except PreviousLogNotFoundError:
            await context.abort(grpc.StatusCode.NOT_FOUND, _no_previous(target, request))
        except TaskNotFoundError:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{label}: not running now (no task on the node)")
        except DriverError as err:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{label}: {err}")


def log_query(request: agent_pb2.LogsRequest, now: float) -> LogQuery:
    """What ``request`` asks of the driver; ``now`` (the node's clock) anchors ``since_seconds``.
    TargetError (INVALID_ARGUMENT) for a negative tail or since."""
    if request.tail_lines < 0 or request.since_seconds < 0:
        raise TargetError(grpc.StatusCode.INVALID_ARGUMENT, "tail_lines and since_seconds must not be negative")
    since_ns: int | None = None
    if request.since_seconds:
        since_ns = int((now - request.since_seconds) * 1e9)
    if request.HasField("since_time"):
        since_ns = max(since_ns or 0, request.since_time.ToNanoseconds())
    tail = request.tail_lines if request.HasField("tail_lines") else -1
    return LogQuery(follow=request.follow and not request.previous, tail=tail,
                    since_ns=since_ns, previous=request.previous, timestamps=request.timestamps)


async def _lines(driver: LogReader, task_id: str, query: LogQuery) -> AsyncIterator[LogLine]:
    """The driver's lines; when no task runs under the id now (a container waiting out its
    crash-loop back-off) and the driver kept its last run's log, that log, as kubectl shows it."""
    try:
        async for line in driver.logs(task_id, query):
            yield line
        return
    except TaskNotFoundError as err:  # raised before the first line
        if query.previous or not isinstance(driver, KeepsPreviousLogs):
            raise
        gone = err
    try:
        async for line in driver.logs(task_id, replace(query, previous=True, follow=False)):
            yield line
    except PreviousLogNotFoundError:
        raise gone from None


def _no_previous(target: Target, request: agent_pb2.LogsRequest) -> str:
    if target.is_vm:
        return f"{target.label}: no previous run's console log is kept on its node"
    return (f'previous terminated container "{bounded(target.container)}" in pod '
            f'"{bounded(request.namespace)}/{bounded(request.name)}" not found')


@dataclass
class LogsServer:
    server: grpc.aio.Server
    address: str
    service: AgentLogsService = field(default_factory=AgentLogsService)
    sessions: AgentSessionsService | None = None

    def serve(self, node: NodeAgent) -> None:
        """Serve ``node``'s logs and sessions (both services share one node table)."""
        self.service.nodes[node.name] = node

    async def stop(self) -> None:
        await self.server.stop(0.5)


async def start_logs_server(listen: str, tls: ClientConfig | None = None) -> LogsServer:
    """Serve AgentLogs and AgentSessions on ``listen`` (HOST:PORT; port 0 picks a free one). With ``tls`` (the
    agent's own ClientConfig carrying ca/cert/key), mutual TLS admitting only the API server."""
    server = grpc.aio.server()
    secure = tls is not None and bool(tls.ca and tls.cert and tls.key)
    service = AgentLogsService(require_peer=APISERVER_USER if secure else None)
    agent_pb2_grpc.add_AgentLogsServicer_to_server(service, server)
    sessions = AgentSessionsService(service.nodes, require_peer=APISERVER_USER if secure else None)
    access_pb2_grpc.add_AgentSessionsServicer_to_server(sessions, server)
    host = listen.rpartition(":")[0] or "127.0.0.1"
    if secure:
        assert tls is not None and tls.ca and tls.cert and tls.key
        credentials = grpc.ssl_server_credentials(
            [(Path(tls.key).read_bytes(), Path(tls.cert).read_bytes())],
            root_certificates=Path(tls.ca).read_bytes(),
            require_client_auth=True,
        )
        port = server.add_secure_port(listen, credentials)
    else:
        port = server.add_insecure_port(listen)
    if port == 0:
        raise RuntimeError(f"cannot listen on {listen} for the agent's log service")
    await server.start()
    return LogsServer(server, f"{host}:{port}", service, sessions)
