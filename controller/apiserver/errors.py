"""API errors: what a request did wrong, as one line, with the gRPC code it maps to."""

from __future__ import annotations

import grpc


class ApiError(Exception):
    """An error the caller can act on; ``code`` is the gRPC status the servicer answers with."""

    code = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidError(ApiError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(ApiError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(ApiError):
    code = grpc.StatusCode.ALREADY_EXISTS


class ConflictError(ApiError):
    """The object changed since the caller read it (stale resource_version or precondition)."""

    code = grpc.StatusCode.ABORTED


class GoneError(ApiError):
    """A list continue token or watch revision that is compacted; the caller relists."""

    code = grpc.StatusCode.OUT_OF_RANGE


class ForbiddenStateError(ApiError):
    """The request is valid but the cluster state refuses it (namespace terminating, ...)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class UnavailableError(ApiError):
    code = grpc.StatusCode.UNAVAILABLE


class TooManyError(ApiError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
