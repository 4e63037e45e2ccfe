"""SecurityGuard: runs around every Objects call: authenticate, authorize, limit, call, audit.

Contract: a call that is not authenticated answers UNAUTHENTICATED and one that lacks a
permission PERMISSION_DENIED, both before the servicer runs (nothing is read or written on the
caller's behalf) and both audited. Every mutating call that runs is audited with its outcome
(BatchCreate, BatchUpdateStatus and Bind: one record per item, with that item's own result code).
Sessions (exec, attach, console, port-forward: ``session``) are authorized by their capability as
the verb and audited when they start and when they end.
Unary calls are cut off after ``request_timeout`` seconds with DEADLINE_EXCEEDED. Audit records
name the peer (its certificate's user and address) beside the authenticated user, and refused
calls are recorded within ``audit_budget.AuditBudget``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc

from atoll import kinds
from atoll.v1 import access_pb2
from atoll.validation.rbac import READ_VERBS
from controller.apiserver.auth.attributes import (
    HOST_PATH_VERB,
    MUTATING_METHODS,
    SESSION_METHOD,
    RequestAttributes,
    attributes_for,
    per_item_targets,
)
from controller.apiserver.auth.audit import AuditLog
from controller.apiserver.auth.audit_budget import AuditBudget
from controller.apiserver.auth.authn import Authenticator
from controller.apiserver.auth.authorizer import Authorizer
from controller.apiserver.auth.config import DEFAULT_MAX_SESSIONS_PER_USER
from controller.apiserver.auth.identity import Peer, UserInfo
from controller.apiserver.auth.limits import WatchLimiter
from controller.apiserver.auth.node import NodeRestrictionError
from controller.apiserver.auth.policy import PolicyCache
from controller.apiserver.auth.secret_data import redact_response
from controller.apiserver.errors import StatusError
from controller.store.protocol import StoreUnavailableError

Context = grpc.aio.ServicerContext[Any, Any]
SECRET = kinds.by_name("Secret")
_ANONYMOUS = UserInfo("")


class SecurityGuard:
    """Implements ``handlers.CallGuard``."""

    def __init__(
        self,
        authenticator: Authenticator,
        authorizer: Authorizer,
        policy: PolicyCache,
        watches: WatchLimiter,
        audit: AuditLog | None,
        request_timeout: float,
        audit_budget: AuditBudget,
        sessions: WatchLimiter | None = None,
    ) -> None:
        self._authenticator = authenticator
        self._authorizer = authorizer
        self._policy = policy
        self._watches = watches
        self._audit = audit
        self._timeout = request_timeout
        self._budget = audit_budget
        self._sessions = sessions or WatchLimiter(DEFAULT_MAX_SESSIONS_PER_USER, "sessions")

    @property
    def policy(self) -> PolicyCache:
        return self._policy

    async def close(self) -> None:
        await self._policy.stop()
        if self._audit is not None:
            self._audit.close()

    async def unary(self, method: str, request: Any, context: Context, call: Callable[[], Awaitable[Any]]) -> Any:
        user, peer, requests, redacted = await self._admit(method, request, context)
        audited: list[RequestAttributes | None] = [*_audit_targets(method, requests)]
        if method in MUTATING_METHODS and not audited:
            audited = [None]  # a write naming no valid kind: the servicer refuses it, the audit still says so
        try:
            async with asyncio.timeout(self._timeout):
                response = await call()
        except TimeoutError:
            message = f"{method}: the request took longer than {self._timeout:g} s; try again or narrow it"
            self._record_all(user, peer, method, audited, "DEADLINE_EXCEEDED", message)
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, message)
            raise
        except StatusError as error:
            self._record_all(user, peer, method, audited, error.code.name, error.message)
            raise
        except StoreUnavailableError as exc:
            self._record_all(user, peer, method, audited, "UNAVAILABLE", f"store unavailable: {exc}")
            raise
        except asyncio.CancelledError:
            self._record_all(user, peer, method, audited, "CANCELLED")
            raise
        except BaseException:
            code = context.code()
            name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
            self._record_all(user, peer, method, audited, name, context.details() or "")
            raise
        if redacted:
            response = redact_response(response)
        items = per_item_targets(method, request, requests)
        if items and len(items) == len(response.results):
            for target, result in zip(items, response.results, strict=True):  # each item's own outcome
                self._record(user, peer, method, target, result.code, result.message)
        else:
            self._record_all(user, peer, method, audited, "OK")
        return response

    async def stream(
        self, method: str, request: Any, context: Context, call: Callable[[], AsyncIterator[Any]]
    ) -> AsyncIterator[Any]:
        """Authenticates and authorizes now (aborting as ``unary`` does); the returned iterator
        holds one of the caller's watch slots while it runs ``call()``."""
        user, _, _, redacted = await self._admit(method, request, context)
        return self._limited(user, context, call, redacted)

    async def _limited(
        self, user: UserInfo, context: Context, call: Callable[[], AsyncIterator[Any]], redacted: bool
    ) -> AsyncIterator[Any]:
        try:
            self._watches.acquire(user.name)
        except StatusError as error:
            await context.abort(error.code, error.message)
        try:
            async for item in call():
                yield redact_response(item) if redacted else item
        finally:
            self._watches.release(user.name)

    @contextlib.asynccontextmanager
    async def session(self, start: access_pb2.SessionStart, context: Context) -> AsyncIterator[str]:
        """Admits a session (``start`` already valid, atoll.sessions.start_problem): authenticates,
        authorizes its capability as the verb on the workload (auditing a refusal), counts it
        against the caller's open sessions, and audits its start and its end (stage ``started``
        / ``ended``, with container and command, and the outcome). Yields the user's name."""
        user, peer, _, _ = await self._admit(SESSION_METHOD, start, context)
        try:
            self._sessions.acquire(user.name)
        except StatusError as error:
            await context.abort(error.code, error.message)
        target = attributes_for(SESSION_METHOD, start)[0]
        container, command = start.container, tuple(start.command)
        self._record(user, peer, SESSION_METHOD, target, "OK", "", stage="started", container=container,
                     command=command)
        result, message = "OK", ""
        try:
            yield user.name
        except StatusError as error:
            result, message = error.code.name, error.message
            raise
        except asyncio.CancelledError:
            result = "CANCELLED"
            raise
        except BaseException:
            code = context.code()
            result = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
            message = context.details() or ""
            raise
        finally:
            self._sessions.release(user.name)
            self._record(user, peer, SESSION_METHOD, target, result, message, stage="ended", container=container,
                         command=command)

    async def _admit(
        self, method: str, request: Any, context: Context
    ) -> tuple[UserInfo, Peer, list[RequestAttributes], bool]:
        """The caller, what carried it, what it asks for and whether Secret data must be taken
        out of the response (secret_data.py); aborts the call (after auditing) when
        authentication or any permission fails."""
        requests = attributes_for(method, request)
        user, peer = await self._authenticate(method, requests, context)
        for attributes in requests:
            allowed, reason = await self._decide(user, attributes)
            if not allowed:
                message = f"{user.describe()} may not {attributes.describe()}{reason}"
                self._record(user, peer, method, attributes, "PERMISSION_DENIED", message)
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, message)
        redacted = await self._hides_secret_data(user, requests)
        return user, peer, (requests if method in MUTATING_METHODS else []), redacted

    async def review(self, context: Context, attributes: RequestAttributes) -> tuple[UserInfo, bool, str]:
        """Who the caller is and whether it may do ``attributes`` (with the refusal's reason), as a
        call would be decided; for a console that offers only what its user may do
        (SelfSubjectAccessReview). Aborts when authentication fails; otherwise not audited: it
        changes and reads nothing."""
        user, _ = await self._authenticate("SelfSubjectAccessReview", [], context)
        allowed, reason = await self._decide(user, attributes)
        return user, allowed, reason.removeprefix(": ")

    async def identify(self, context: Context, method: str) -> UserInfo:
        """Who the caller is, for a read that any authenticated caller may make (the API's schema,
        as Kubernetes' system:discovery grants it); aborts, after auditing under ``method``, when
        authentication fails."""
        user, _ = await self._authenticate(method, [], context)
        return user

    async def _authenticate(
        self, method: str, requests: list[RequestAttributes], context: Context
    ) -> tuple[UserInfo, Peer]:
        """The caller and what carried it; aborts the call (after auditing) when authentication fails."""
        auth_context = context.auth_context()
        peer = self._authenticator.peer(auth_context, context.peer())
        try:
            return self._authenticator.authenticate(context.invocation_metadata(), auth_context, peer), peer
        except StatusError as error:
            targets: list[RequestAttributes | None] = [*_audit_targets(method, requests)] or [None]
            self._record_all(_ANONYMOUS, peer, method, targets, error.code.name, error.message)
            await context.abort(error.code, error.message)
            raise

    async def _decide(self, user: UserInfo, attributes: RequestAttributes) -> tuple[bool, str]:
        """Whether ``user`` may do ``attributes``; the reason (": ...") when node restriction refuses."""
        try:
            return await self._authorizer.allows(user, attributes), ""
        except NodeRestrictionError as refusal:
            return False, f": {refusal.message}"

    async def _hides_secret_data(self, user: UserInfo, requests: list[RequestAttributes]) -> bool:
        """Whether a response to these (allowed) requests must lose its Secret data: a read needs
        the data permission for its own verb, a write the data permission for ``get``."""
        for attributes in requests:
            if attributes.kind is not SECRET:
                continue
            verb = attributes.verb if attributes.verb in READ_VERBS else "get"
            if not await self._authorizer.allows_data(user, dataclasses.replace(attributes, verb=verb)):
                return True
        return False

    def _record_all(
        self,
        user: UserInfo,
        peer: Peer,
        method: str,
        targets: list[RequestAttributes | None],
        result: str,
        message: str = "",
    ) -> None:
        for attributes in targets:
            self._record(user, peer, method, attributes, result, message)

    def _record(
        self,
        user: UserInfo,
        peer: Peer,
        method: str,
        attributes: RequestAttributes | None,
        result: str,
        message: str,
        *,
        stage: str = "",
        container: str = "",
        command: Sequence[str] = (),
    ) -> None:
        if self._audit is None:
            return
        suppressed = self._budget.admit(peer.key, result)
        if suppressed is None:
            return
        self._audit.record(
            user=user.name,
            groups=user.groups,
            certificate=peer.certificate,
            peer=peer.address,
            verb=attributes.verb if attributes else method.lower(),
            kind=attributes.kind.name if attributes else "",
            namespace=attributes.namespace if attributes else "",
            name=attributes.name if attributes else "",
            result=result,
            message=message,
            suppressed=suppressed,
            stage=stage,
            container=container,
            command=command,
        )


def _audit_targets(method: str, requests: list[RequestAttributes]) -> list[RequestAttributes]:
    """One audit line per object touched: Apply's create+update permissions become one ``apply``;
    the extra ``hostpath`` permission of a write is not a second object."""
    requests = [attributes for attributes in requests if attributes.verb != HOST_PATH_VERB]
    if method == "Apply" and requests:
        return [dataclasses.replace(requests[0], verb="apply")]
    return requests
