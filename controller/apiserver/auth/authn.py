"""Authentication: a bearer token from the token file, else the verified client certificate.

A presented token decides alone: an unknown token is UNAUTHENTICATED even when the connection
carries a valid client certificate, so a typo never silently runs a call as someone else.
Wrong tokens are limited per peer (``limits.FailedAuthLimiter``): past the limit every call that
presents a token is RESOURCE_EXHAUSTED before the token is looked at, so guessing stops paying.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509

from atoll.certs import subject_of
from atoll.clock import Clock, SystemClock
from atoll.tokens import TokenFileError, hash_token, read_token_file
from controller.apiserver.auth.identity import Peer, UserInfo
from controller.apiserver.auth.limits import FailedAuthLimiter
from controller.apiserver.errors import StatusError

log = logging.getLogger(__name__)
BEARER = "bearer "
# Certificates seen recently, by PEM text: parsing one costs more than the call it guards.
_CERT_CACHE_SIZE = 4096


class UnauthenticatedError(StatusError):
    code = grpc.StatusCode.UNAUTHENTICATED


class TokenTable:
    """The token file's hash -> UserInfo, re-read when its modification time or size changes
    (checked at most every ``recheck_seconds``). A broken file keeps the last good table."""

    def __init__(self, path: Path, recheck_seconds: float = 1.0, clock: Clock | None = None) -> None:
        self._path = path
        self._recheck = recheck_seconds
        self._clock: Clock = clock or SystemClock()
        self._checked_at = float("-inf")
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, UserInfo] = {}

    def lookup(self, token: str) -> UserInfo | None:
        self._refresh()
        return self._users.get(hash_token(token))

    def _refresh(self) -> None:
        now = self._clock.now()
        if now - self._checked_at < self._recheck:
            return
        self._checked_at = now
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            self._stamp, self._users = None, {}
            return
        if stamp == self._stamp:
            return
        try:
            entries = read_token_file(self._path)
        except TokenFileError as exc:
            log.error("%s; keeping the previous tokens", exc)
            return
        self._stamp = stamp
        self._users = {entry.sha256: UserInfo(entry.user, frozenset(entry.groups)) for entry in entries}


class Authenticator:
    """Turns a call's credentials into a UserInfo or raises UnauthenticatedError."""

    def __init__(self, tokens: TokenTable | None, failures: FailedAuthLimiter | None = None) -> None:
        self._tokens = tokens
        self._failures = failures
        self._cert_users: dict[bytes, UserInfo] = {}

    def peer(self, auth_context: Mapping[str, Iterable[bytes]], address: str) -> Peer:
        """What carries the call: the user its client certificate names ("" when it has none or
        one that names no user) and ``address``. Never raises."""
        for pem in auth_context.get("x509_pem_cert") or ():
            try:
                return Peer(self._cert_user(pem).name, address)
            except UnauthenticatedError:
                break
        return Peer("", address)

    def authenticate(
        self, metadata: Iterable[tuple[str, Any]] | None, auth_context: Mapping[str, Iterable[bytes]], peer: Peer
    ) -> UserInfo:
        """The caller; UnauthenticatedError, or TooManyError while ``peer`` has failed too often."""
        token = _bearer_token(metadata or ())
        if token is not None:
            if self._failures is not None:
                self._failures.check(peer)
            user = self._tokens.lookup(token) if self._tokens else None
            if user is None:
                if self._failures is not None:
                    self._failures.failed(peer)
                raise UnauthenticatedError("the bearer token is not valid; ask an admin for one (atoll token create)")
            return user
        for pem in auth_context.get("x509_pem_cert") or ():
            return self._cert_user(pem)
        raise UnauthenticatedError("no credentials: present a client certificate or a bearer token")

    def _cert_user(self, pem: bytes) -> UserInfo:
        cached = self._cert_users.get(pem)
        if cached is not None:
            return cached
        try:
            subject = subject_of(x509.load_pem_x509_certificate(pem))
        except ValueError:
            raise UnauthenticatedError("the client certificate cannot be parsed") from None
        if not subject.common_name:
            raise UnauthenticatedError("the client certificate names no user (empty CN)")
        user = UserInfo(subject.common_name, frozenset(subject.organizations))
        if len(self._cert_users) >= _CERT_CACHE_SIZE:
            self._cert_users.clear()
        self._cert_users[pem] = user
        return user


def _bearer_token(metadata: Iterable[tuple[str, Any]]) -> str | None:
    for key, value in metadata:
        if key != "authorization":
            continue
        text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        if text[: len(BEARER)].lower() != BEARER:
            raise UnauthenticatedError("authorization metadata must be 'Bearer TOKEN'")
        return text[len(BEARER) :].strip()
    return None
