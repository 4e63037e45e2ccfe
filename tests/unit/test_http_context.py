"""HttpCallContext answers every part of a grpc servicer context that the guarded calls use."""

from __future__ import annotations

import inspect

import grpc
import pytest

from controller.apiserver.http.context import HttpCallContext
from controller.apiserver.http.status import HttpFailure

USED = ("abort", "auth_context", "peer", "invocation_metadata", "code", "details")


def test_it_has_every_method_the_guard_and_handlers_call() -> None:
    for name in USED:
        ours = getattr(HttpCallContext, name)
        theirs = getattr(grpc.aio.ServicerContext, name)
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs), name


async def test_abort_raises_a_status_with_the_http_code_and_keeps_it() -> None:
    context = HttpCallContext.__new__(HttpCallContext)
    context._code, context._details = None, ""
    with pytest.raises(HttpFailure) as failure:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "no")
    assert failure.value.status["code"] == 403
    assert (context.code(), context.details()) == (grpc.StatusCode.PERMISSION_DENIED, "no")
