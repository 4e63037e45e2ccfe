"""How the API server reaches the agent of a workload's node (``atoll logs``, ``atoll exec`` and
the other sessions: kubectl -> kube-apiserver -> kubelet, the same shape).

The agent's address is the ``atoll.dev/agent-endpoint`` annotation of the Node; it is dialed only
when its host is one of the Node's own addresses (``atoll.node_restriction.endpoint_problem``), so
a node cannot point the API server at another host. Errors are StatusErrors of one line: the
workload or node does not exist (NOT_FOUND), the kind runs on no node (INVALID_ARGUMENT), it is not
scheduled yet or its agent publishes no endpoint, or one off its own addresses
(FAILED_PRECONDITION). One channel per agent endpoint, shared by every proxy and kept open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from atoll import kinds, node_restriction
from atoll.annotations import AGENT_ENDPOINT_ANNOTATION
from atoll.kinds import Kind
from atoll.pki import AGENT_TLS_NAME
from controller.apiserver.auth.config import SecurityConfig
from controller.apiserver.errors import StatusError
from controller.apiserver.registry import Registry


@dataclass(frozen=True)
class Route:
    """The workload (stored message) of ``kind``, its node and the node agent's address."""

    kind: Kind
    workload: Any
    node_name: str
    endpoint: str

    @property
    def uid(self) -> str:
        return str(self.workload.metadata.uid)

    @property
    def namespace(self) -> str:
        return str(self.workload.metadata.namespace)


class AgentRoutes:
    def __init__(self, registry: Registry, tls: SecurityConfig | None = None) -> None:
        self._registry = registry
        self._credentials = _agent_credentials(tls) if tls is not None else None
        self._channels: dict[str, grpc.aio.Channel] = {}

    async def route(self, kind_name: str, namespace: str, name: str, what: str) -> Route:
        """Where workload ``kind_name`` ``namespace``/``name`` runs; ``what`` (logs, exec, ...)
        names the request in errors."""
        try:
            kind = kinds.lookup(kind_name or "Pod")
        except kinds.UnknownKindError as err:
            raise error(grpc.StatusCode.INVALID_ARGUMENT, str(err)) from None
        if not kind.node_bound:
            raise error(grpc.StatusCode.INVALID_ARGUMENT, f"kind {kind.name} has no {what} (only pods and VMs)")
        workload = (await self._registry.read(kind, namespace or "default", name)).message
        label = f"{kind.singular}/{workload.metadata.name}"
        node_name = workload.spec.node_name
        if not node_name:
            raise error(grpc.StatusCode.FAILED_PRECONDITION, f"{label} is not scheduled to a node yet: no {what}")
        node = (await self._registry.read(kinds.by_name("Node"), "", node_name)).message
        endpoint = node.metadata.annotations.get(AGENT_ENDPOINT_ANNOTATION, "")
        if not endpoint:
            raise error(grpc.StatusCode.FAILED_PRECONDITION,
                        f"{label}: node {node_name} publishes no agent endpoint (its agent serves no {what})")
        problem = node_restriction.endpoint_problem(endpoint, node_restriction.node_addresses(node))
        if problem is not None:
            raise error(grpc.StatusCode.FAILED_PRECONDITION, f"{label}: node {node_name}: {problem}; not dialed")
        return Route(kind, workload, node_name, endpoint)

    def channel(self, endpoint: str) -> grpc.aio.Channel:
        """Plaintext in --dev; else mutual TLS, expecting an agent certificate (SAN atoll-agent)."""
        channel = self._channels.get(endpoint)
        if channel is None:
            if self._credentials is None:
                channel = grpc.aio.insecure_channel(endpoint)
            else:
                options = [("grpc.ssl_target_name_override", AGENT_TLS_NAME)]
                channel = grpc.aio.secure_channel(endpoint, self._credentials, options=options)
            self._channels[endpoint] = channel
        return channel

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()


def unreachable(node_name: str, endpoint: str, details: str) -> str:
    """The message when the agent of ``node_name`` cannot be reached."""
    return f"the agent of node {node_name} at {endpoint} is unreachable: {details}"


def error(code: grpc.StatusCode, message: str) -> StatusError:
    made = StatusError(message)
    made.code = code
    return made


def _agent_credentials(tls: SecurityConfig) -> grpc.ChannelCredentials:
    """The API server's own certificate (it carries clientAuth) toward agents signed by the same CA."""
    return grpc.ssl_channel_credentials(
        root_certificates=tls.client_ca.read_bytes(),
        private_key=tls.server_key.read_bytes(),
        certificate_chain=tls.server_cert.read_bytes(),
    )
