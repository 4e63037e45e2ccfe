"""The atoll.v1.Logs servicer: ``atoll logs`` asks the API server, which forwards to the agent of
the workload's node (kubectl logs -> kube-apiserver -> kubelet, the same shape).

The agent's address is the ``atoll.dev/agent-endpoint`` annotation of the Node; it is dialed only
when its host is one of the Node's own addresses (``atoll.node_restriction.endpoint_problem``), so
a node cannot point the API server at another host. Errors are one line: the workload or node
does not exist (NOT_FOUND), is not scheduled yet or its agent publishes no endpoint, or one off its
own addresses (FAILED_PRECONDITION), the agent cannot be reached (UNAVAILABLE); errors the agent
reports are passed through with their code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import grpc

from atoll import kinds, node_restriction
from atoll.annotations import AGENT_ENDPOINT_ANNOTATION
from atoll.pki import AGENT_TLS_NAME
from atoll.v1 import agent_pb2, agent_pb2_grpc
from controller.apiserver.auth.config import SecurityConfig
from controller.apiserver.errors import StatusError
from controller.apiserver.handlers import CallGuard
from controller.apiserver.registry import Registry

Context = grpc.aio.ServicerContext[Any, Any]


class LogsProxy(agent_pb2_grpc.LogsServicer):
    """With ``guard`` (secure mode), reading logs needs permission to get the workload, and counts
    against the caller's stream limit like a watch."""

    def __init__(self, registry: Registry, guard: CallGuard | None = None, tls: SecurityConfig | None = None) -> None:
        self._registry = registry
        self._guard = guard
        self._credentials = _agent_credentials(tls) if tls is not None else None
        self._channels: dict[str, grpc.aio.Channel] = {}

    async def Read(self, request: agent_pb2.LogsRequest, context: Context) -> AsyncIterator[agent_pb2.LogChunk]:
        if not request.kind:
            request.kind = "Pod"
        chunks = (
            self._guard.stream("Get", request, context, lambda: self._read(request, context))
            if self._guard is not None
            else self._read(request, context)
        )
        async for chunk in chunks:
            yield chunk

    async def _read(self, request: agent_pb2.LogsRequest, context: Context) -> AsyncIterator[agent_pb2.LogChunk]:
        try:
            forwarded, endpoint = await self._route(request)
        except StatusError as err:
            await context.abort(err.code, err.message)
            return
        channel = self._channels.get(endpoint)
        if channel is None:
            channel = self._channels[endpoint] = self._dial(endpoint)
        stub = cast("agent_pb2_grpc.AgentLogsAsyncStub", agent_pb2_grpc.AgentLogsStub(channel))
        try:
            async for chunk in stub.Read(forwarded):
                yield chunk
        except grpc.aio.AioRpcError as err:
            details = err.details() or ""
            if err.code() == grpc.StatusCode.UNAVAILABLE:
                details = f"the agent of node {forwarded.node_name} at {endpoint} is unreachable: {details}"
            await context.abort(err.code(), details)

    async def _route(self, request: agent_pb2.LogsRequest) -> tuple[agent_pb2.LogsRequest, str]:
        """The request to send to the agent (node name and uid filled in) and the agent's address."""
        try:
            kind = kinds.lookup(request.kind or "Pod")
        except kinds.UnknownKindError as err:
            raise _error(grpc.StatusCode.INVALID_ARGUMENT, str(err)) from None
        if not kind.node_bound:
            raise _error(grpc.StatusCode.INVALID_ARGUMENT, f"kind {kind.name} has no logs (only pods and VMs)")
        workload = (await self._registry.read(kind, request.namespace or "default", request.name)).message
        label = f"{kind.singular}/{workload.metadata.name}"
        node_name = workload.spec.node_name
        if not node_name:
            raise _error(grpc.StatusCode.FAILED_PRECONDITION, f"{label} is not scheduled to a node yet: no logs")
        node = (await self._registry.read(kinds.by_name("Node"), "", node_name)).message
        endpoint = node.metadata.annotations.get(AGENT_ENDPOINT_ANNOTATION, "")
        if not endpoint:
            raise _error(grpc.StatusCode.FAILED_PRECONDITION,
                         f"{label}: node {node_name} publishes no log endpoint (its agent serves no logs)")
        problem = node_restriction.endpoint_problem(endpoint, node_restriction.node_addresses(node))
        if problem is not None:
            raise _error(grpc.StatusCode.FAILED_PRECONDITION, f"{label}: node {node_name}: {problem}; not dialed")
        forwarded = agent_pb2.LogsRequest()
        forwarded.CopyFrom(request)
        forwarded.kind, forwarded.namespace = kind.name, workload.metadata.namespace
        forwarded.node_name, forwarded.uid = node_name, workload.metadata.uid
        return forwarded, endpoint

    def _dial(self, endpoint: str) -> grpc.aio.Channel:
        """Plaintext in --dev; else mutual TLS, expecting an agent certificate (SAN atoll-agent)."""
        if self._credentials is None:
            return grpc.aio.insecure_channel(endpoint)
        options = [("grpc.ssl_target_name_override", AGENT_TLS_NAME)]
        return grpc.aio.secure_channel(endpoint, self._credentials, options=options)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()


def _error(code: grpc.StatusCode, message: str) -> StatusError:
    error = StatusError(message)
    error.code = code
    return error


def _agent_credentials(tls: SecurityConfig) -> grpc.ChannelCredentials:
    """The API server's own certificate (it carries clientAuth) toward agents signed by the same CA."""
    return grpc.ssl_channel_credentials(
        root_certificates=tls.client_ca.read_bytes(),
        private_key=tls.server_key.read_bytes(),
        certificate_chain=tls.server_cert.read_bytes(),
    )


def add_logs_service(
    server: grpc.aio.Server, registry: Registry, guard: CallGuard | None = None, tls: SecurityConfig | None = None
) -> LogsProxy:
    """Serve atoll.v1.Logs on ``server``; returns the proxy (close it when the server stops)."""
    proxy = LogsProxy(registry, guard, tls)
    agent_pb2_grpc.add_LogsServicer_to_server(proxy, server)
    return proxy
