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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from agent.drivers.abilities import LogReader
from agent.drivers.protocol import DriverError, TaskNotFoundError
from agent.node_agent import NodeAgent
from agent.sessions.service import AgentSessionsService
from agent.workload_target import TargetError, find_target
from atoll.config import ClientConfig
from atoll.pki import APISERVER_USER
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
        except TargetError as err:
            await context.abort(err.code, err.message)
            return
        driver, task, label = target.driver, target.task_id, target.label
        if not isinstance(driver, LogReader):
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{label}: driver {driver.name} keeps no logs")
            return
        tail = request.tail_lines if request.tail_lines > 0 else -1
        try:
            chunk = agent_pb2.LogChunk()
            async for line in driver.logs(task, follow=request.follow, tail=tail):
                chunk.lines.append(line)
                if len(chunk.lines) >= LINES_PER_CHUNK or request.follow:
                    yield chunk
                    chunk = agent_pb2.LogChunk()
            if chunk.lines:
                yield chunk
        except TaskNotFoundError:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{label}: not running now (no task on the node)")
        except DriverError as err:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{label}: {err}")


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
