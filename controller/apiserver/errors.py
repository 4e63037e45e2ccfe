"""API errors: what a request did wrong, as one line, with the gRPC code it maps to."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from atoll.user_text import MESSAGE_CHARS, bounded


class StatusError(Exception):
    """An error the caller can act on, raised inside the API server (as apimachinery's StatusError):
    the servicer answers with ``code`` and ``message``, which the caller's client raises as
    atoll.client.ApiError. ``message`` is bounded (atoll/user_text.py):
    it is audited and travels in the call's trailers."""

    code = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        message = bounded(message, MESSAGE_CHARS)
        super().__init__(message)
        self.message = message


class InvalidError(StatusError):
    """``causes``: (field path, problem) pairs when the request failed validation, so an API that
    can carry them (HTTP's Status details) names each field; the message joins them already."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, message: str, causes: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.causes = tuple((bounded(path, MESSAGE_CHARS), bounded(text, MESSAGE_CHARS)) for path, text in causes)


class NotFoundError(StatusError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(StatusError):
    code = grpc.StatusCode.ALREADY_EXISTS


class ConflictError(StatusError):
    """The object changed since the caller read it (stale resource_version or precondition)."""

    code = grpc.StatusCode.ABORTED


class GoneError(StatusError):
    """A list continue token or watch revision that is compacted; the caller relists."""

    code = grpc.StatusCode.OUT_OF_RANGE


class ForbiddenStateError(StatusError):
    """The request is valid but the cluster state refuses it (namespace terminating, ...)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class UnavailableError(StatusError):
    code = grpc.StatusCode.UNAVAILABLE


class TooManyError(StatusError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
