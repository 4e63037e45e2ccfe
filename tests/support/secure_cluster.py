"""An in-process API server with mutual TLS, tokens, RBAC and an audit log, and clients for any identity."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc

from atoll import certs, pki
from atoll.certs import KeyPair, Subject
from atoll.client import ApiError, Backoff, Client
from atoll.config import ClientConfig
from atoll.tokens import add_token
from atoll.v1 import object_pb2, rbac_pb2
from controller.apiserver.auth.config import SecurityConfig
from controller.apiserver.http.charts.settings import ChartSettings
from controller.apiserver.server import ApiServer, start_api_server
from controller.store.memory import MemoryStore
from tests.support.eventually import eventually

# Tokens written to the token file before the server starts: token -> (user, groups).
TOKENS = {
    "tok-alice": ("alice", ("developers",)),
    "tok-root": ("root", ("system:masters",)),
}
NO_RETRY = Backoff(attempts=1)


@dataclass
class SecureCluster:
    api: ApiServer
    directory: Path
    ca: KeyPair
    security: SecurityConfig
    clients: list[Client] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.api.address

    def config(self, component: str = "admin", *, token: str | None = None) -> ClientConfig:
        """Mutual TLS as ``admin``, ``scheduler``, ``controller`` or ``node:NAME``."""
        return replace(pki.client_config(self.directory / "pki", self.address, component), token=token)

    def user_config(
        self, user: str, groups: Sequence[str] = (), *, valid_days: int = 30, ca: KeyPair | None = None
    ) -> ClientConfig:
        """Mutual TLS with a fresh certificate naming ``user`` and ``groups`` (signed by ``ca``,
        default the cluster CA; negative ``valid_days``: already expired)."""
        pair = certs.issue(ca or self.ca, Subject(user, tuple(groups)), now=certs.utc_now(), valid_days=valid_days)
        stem = self.directory / "users" / f"{user or 'nobody'}-{len(self.clients)}"
        certs.write_pair(pair, stem.with_suffix(".pem"), stem.with_suffix(".key"))
        return ClientConfig(
            server=self.address,
            ca=str(self.security.client_ca),
            cert=str(stem.with_suffix(".pem")),
            key=str(stem.with_suffix(".key")),
        )

    def client(self, config: ClientConfig) -> Client:
        client = Client.connect(config, timeout=5.0, backoff=NO_RETRY)
        self.clients.append(client)
        return client

    def admin(self) -> Client:
        return self.client(self.config("admin"))

    async def bind(
        self,
        name: str,
        role: str,
        *,
        users: Sequence[str] = (),
        groups: Sequence[str] = (),
        namespaces: Sequence[str] = (),
    ) -> None:
        """Applies a RoleBinding as admin and waits until the server's policy has it."""
        binding = rbac_pb2.RoleBinding()
        binding.metadata.name = name
        binding.spec.role_ref = role
        binding.spec.namespaces.extend(namespaces)
        binding.spec.subjects.extend([rbac_pb2.Subject(kind="User", name=u) for u in users])
        binding.spec.subjects.extend([rbac_pb2.Subject(kind="Group", name=g) for g in groups])
        await self.admin().apply(object_pb2.Object(role_binding=binding))
        guard = self.api.guard
        assert guard is not None

        async def known() -> bool:
            return name in guard.policy.binding_names

        await eventually(known, timeout=5.0, interval=0.01)

    def audit_records(self) -> list[dict[str, Any]]:
        assert self.security.audit_log is not None
        return self.audit_records_of(self.security.audit_log)

    @staticmethod
    def audit_records_of(path: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in path.read_text().splitlines()]


async def status_of(call: Awaitable[Any]) -> grpc.StatusCode:
    """The status code ``call`` ends with (OK when it succeeds)."""
    try:
        await call
    except ApiError as err:
        return err.code
    return grpc.StatusCode.OK


def make_pki(directory: Path) -> KeyPair:
    """The PKI of a test cluster in DIRECTORY/pki (nodes n1 and n2 included); returns the CA."""
    pki.ensure_pki(directory / "pki", nodes=("n1", "n2"))
    return certs.load_pair(directory / "pki" / "ca.pem", directory / "pki" / "ca-key.pem")


@contextlib.asynccontextmanager
async def secure_cluster(
    directory: Path, *, http_listen: str | None = None, charts: ChartSettings | None = None, **overrides: Any
) -> AsyncIterator[SecureCluster]:
    """A fresh MemoryStore served with mTLS on a free loopback port (and HTTPS on ``http_listen``,
    with the console charts ``charts`` says); ``overrides`` change SecurityConfig fields."""
    ca = make_pki(directory)
    token_file = directory / "tokens.yaml"
    if not token_file.exists():
        for token, (user, groups) in TOKENS.items():
            add_token(token_file, user, groups, token=token)
    security = replace(
        SecurityConfig.from_pki(directory / "pki", token_file=token_file, audit_log=directory / "audit.log"),
        **overrides,
    )
    api = await start_api_server(
        MemoryStore(), "127.0.0.1:0", security=security, compact_interval=None, http_listen=http_listen, charts=charts
    )
    cluster = SecureCluster(api, directory, ca, security)
    try:
        yield cluster
    finally:
        for client in cluster.clients:
            await client.close()
        await api.stop(grace=0.1)
        await api.store.close()
