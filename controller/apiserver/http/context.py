"""A gRPC-servicer-context look-alike for one HTTP request, so the guarded calls that gRPC uses
(handlers.objects_calls, the logs proxy) run unchanged for HTTP: same authentication, authorizer,
audit, limits and metrics.

``abort`` raises HttpFailure carrying the Status object; when it is called while a StatusError is
being handled (handlers._fail), that error's field causes are kept in the Status.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, cast

import grpc
from aiohttp import web

from controller.apiserver.errors import InvalidError
from controller.apiserver.http.status import HttpFailure, for_grpc


class HttpCallContext:
    """What the guard asks of a call's context, answered from an aiohttp request."""

    def __init__(self, request: web.Request) -> None:
        self._metadata: list[tuple[str, str]] = []
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            self._metadata.append(("authorization", authorization))
        self._auth_context = _auth_context(request)
        self._peer = _peer(request)
        self._code: grpc.StatusCode | None = None
        self._details = ""

    def invocation_metadata(self) -> list[tuple[str, str]]:
        return self._metadata

    def auth_context(self) -> Mapping[str, Iterable[bytes]]:
        return self._auth_context

    def peer(self) -> str:
        return self._peer

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str:
        return self._details

    async def abort(self, code: grpc.StatusCode, details: str = "") -> NoReturn:
        self._code, self._details = code, details
        handled = sys.exception()
        causes = handled.causes if isinstance(handled, InvalidError) else ()
        raise HttpFailure(for_grpc(code, details, causes))


Context = grpc.aio.ServicerContext[Any, Any]


def call_context(request: web.Request) -> Context:
    """The context the guarded calls take, for ``request``. A cast: HttpCallContext implements the
    part of grpc's context that the guard, handlers and logs proxy use (tests/unit/test_http_context.py)."""
    return cast(Context, HttpCallContext(request))


def _auth_context(request: web.Request) -> dict[str, list[bytes]]:
    """grpc's auth context shape: the verified client certificate's PEM under x509_pem_cert."""
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return {}
    der = ssl_object.getpeercert(binary_form=True)
    return {"x509_pem_cert": [ssl.DER_cert_to_PEM_cert(der).encode()]} if der else {}


def _peer(request: web.Request) -> str:
    """grpc's peer shape (``ipv4:127.0.0.1:40000``), so limits key HTTP callers as they key gRPC ones."""
    transport = request.transport
    address = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"ipv6:[{host}]:{port}" if ":" in str(host) else f"ipv4:{host}:{port}"
    return "unknown"
