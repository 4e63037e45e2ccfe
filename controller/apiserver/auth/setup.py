"""Builds the security pieces of one API server from a SecurityConfig."""

from __future__ import annotations

from typing import Any

import grpc

from atoll.kinds import Kind
from controller.apiserver import codec
from controller.apiserver.auth.audit import AuditLog
from controller.apiserver.auth.audit_budget import AuditBudget
from controller.apiserver.auth.authn import Authenticator, TokenTable
from controller.apiserver.auth.authorizer import Authorizer
from controller.apiserver.auth.buckets import TokenBuckets
from controller.apiserver.auth.config import SecurityConfig
from controller.apiserver.auth.guard import SecurityGuard
from controller.apiserver.auth.limits import FailedAuthLimiter, WatchLimiter
from controller.apiserver.auth.node import NamespaceLister, NodeAuthorizer, ObjectReader
from controller.apiserver.auth.policy import PolicyCache
from controller.apiserver.errors import NotFoundError
from controller.apiserver.registry import Registry
from controller.store.protocol import Store


class SecurityConfigError(RuntimeError):
    """A file the security config names cannot be read; the message names it."""


def server_credentials(config: SecurityConfig) -> grpc.ServerCredentials:
    """TLS credentials for the listening port; mutual TLS when ``config.require_client_cert``."""
    try:
        cert = config.server_cert.read_bytes()
        key = config.server_key.read_bytes()
        ca = config.client_ca.read_bytes()
    except OSError as exc:
        raise SecurityConfigError(f"cannot read {exc.filename}: {exc.strerror}") from None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=config.require_client_cert
    )


async def build_guard(
    config: SecurityConfig, store: Store, read: ObjectReader, list_namespace: NamespaceLister | None = None
) -> SecurityGuard:
    """A started SecurityGuard (its RBAC policy loaded from ``store``); ``close()`` it when done."""
    policy = PolicyCache(store)
    await policy.start()
    tokens = TokenTable(config.token_file) if config.token_file else None
    audit = (
        AuditLog(config.audit_log, max_bytes=config.audit_max_bytes, backups=config.audit_backups)
        if config.audit_log
        else None
    )
    failures = FailedAuthLimiter(TokenBuckets(config.failed_auth_burst, config.failed_auth_per_second))
    budget = AuditBudget(
        TokenBuckets(config.audit_refused_burst, config.audit_refused_per_second),
        TokenBuckets(config.audit_refused_total_burst, config.audit_refused_total_per_second),
    )
    return SecurityGuard(
        Authenticator(tokens, failures),
        Authorizer(policy, NodeAuthorizer(read, list_namespace)),
        policy,
        WatchLimiter(config.max_watches_per_user),
        audit,
        config.request_timeout,
        budget,
        sessions=WatchLimiter(config.max_sessions_per_user, "sessions"),
    )


def registry_reader(registry: Registry) -> ObjectReader:
    """An ObjectReader over the registry: the stored message, or None when absent."""

    async def read(kind: Kind, namespace: str, name: str) -> Any | None:
        try:
            return (await registry.read(kind, namespace, name)).message
        except NotFoundError:
            return None

    return read


def store_lister(store: Store) -> NamespaceLister:
    """A NamespaceLister over ``store``: every object of a kind in a namespace, decoded."""

    async def list_namespace(kind: Kind, namespace: str) -> list[Any]:
        found: list[Any] = []
        start_after: str | None = None
        while True:
            page = await store.range(kind.prefix(namespace), start_after=start_after, limit=500)
            found.extend(codec.decode(kind, kv.value, kv.mod_revision) for kv in page.items)
            if not page.more:
                return found
            start_after = page.items[-1].key

    return list_namespace
