"""HTTP answers for failed calls: the one table from gRPC status codes to HTTP codes, and the
Kubernetes-shaped Status object that carries the message (and field paths for invalid objects).

The table follows grpc-gateway's mapping, with Kubernetes' choices where its clients expect them:
INVALID_ARGUMENT is 422 Invalid (causes name the fields) and OUT_OF_RANGE (a compacted revision or
continue token) is 410 Expired, so a watcher relists as it would against kube-apiserver.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import grpc
from aiohttp import web

from atoll import kinds
from atoll.user_text import MESSAGE_CHARS, bounded

# grpc.StatusCode -> (HTTP status, Status.reason)
HTTP_OF_GRPC: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.OK: (200, ""),
    grpc.StatusCode.CANCELLED: (499, "Cancelled"),
    grpc.StatusCode.UNKNOWN: (500, "InternalError"),
    grpc.StatusCode.INVALID_ARGUMENT: (422, "Invalid"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "Timeout"),
    grpc.StatusCode.NOT_FOUND: (404, "NotFound"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "AlreadyExists"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "Forbidden"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "TooManyRequests"),
    grpc.StatusCode.FAILED_PRECONDITION: (400, "FailedPrecondition"),
    grpc.StatusCode.ABORTED: (409, "Conflict"),
    grpc.StatusCode.OUT_OF_RANGE: (410, "Expired"),
    grpc.StatusCode.UNIMPLEMENTED: (501, "NotImplemented"),
    grpc.StatusCode.INTERNAL: (500, "InternalError"),
    grpc.StatusCode.UNAVAILABLE: (503, "ServiceUnavailable"),
    grpc.StatusCode.DATA_LOSS: (500, "InternalError"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "Unauthorized"),
}
# Failures of the HTTP request itself, before any call: no gRPC code says these.
BAD_REQUEST = (400, "BadRequest")
INVALID = HTTP_OF_GRPC[grpc.StatusCode.INVALID_ARGUMENT]  # a body that decodes but names bad fields
NOT_FOUND_PATH = (404, "NotFound")
METHOD_NOT_ALLOWED = (405, "MethodNotAllowed")
TOO_LARGE = (413, "RequestEntityTooLarge")
UNSUPPORTED_MEDIA_TYPE = (415, "UnsupportedMediaType")


def status_object(http: tuple[int, str], message: str, causes: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """A Status object (Kubernetes' shape): message bounded, one cause per field path."""
    code, reason = http
    status: dict[str, Any] = {
        "apiVersion": kinds.API_VERSION,
        "kind": "Status",
        "status": "Failure",
        "message": bounded(message, MESSAGE_CHARS),
        "reason": reason,
        "code": code,
    }
    if causes:
        status["details"] = {"causes": [{"field": field, "message": text} for field, text in causes]}
    return status


def for_grpc(code: grpc.StatusCode, message: str, causes: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    return status_object(HTTP_OF_GRPC.get(code, (500, "InternalError")), message, causes)


def response(status: dict[str, Any]) -> web.Response:
    """The HTTP response carrying ``status`` with its own code."""
    return web.Response(status=int(status["code"]), body=json.dumps(status).encode(), content_type="application/json")


class HttpFailure(Exception):
    """A request refused before or around a call; ``status`` is the Status object to answer with."""

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(status["message"])
        self.status = status


def fail(http: tuple[int, str], message: str, causes: Sequence[tuple[str, str]] = ()) -> HttpFailure:
    return HttpFailure(status_object(http, message, causes))
