"""The HTTP API's read-modify-write retries a conflicting write a few times, then gives up with it."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from atoll import kinds
from controller.apiserver.handlers import ObjectsCalls
from controller.apiserver.http.modify import WRITE_ATTEMPTS, modify
from controller.apiserver.http.paths import Target
from controller.apiserver.http.status import HttpFailure, for_grpc
from tests.support.objects import make_vm

TARGET = Target(kinds.by_name("VirtualMachine"), "default", "db")


def calls_with_conflicts(conflicts: int) -> tuple[ObjectsCalls, list[str]]:
    log: list[str] = []

    async def get(request: Any, context: Any) -> Any:
        log.append("get")
        return make_vm("db")

    async def update(request: Any, context: Any) -> Any:
        log.append("update")
        if log.count("update") <= conflicts:
            raise HttpFailure(for_grpc(grpc.StatusCode.ABORTED, "stale"))
        return request.object

    return ObjectsCalls({"Get": get, "Update": update}, {}), log


def stop(obj: Any) -> bool:
    obj.virtual_machine.spec.run_strategy = "Halted"
    return True


async def test_a_conflict_reads_again_and_writes_again() -> None:
    calls, log = calls_with_conflicts(2)
    written = await modify(calls, TARGET, stop, context=None)  # type: ignore[arg-type]
    assert written.virtual_machine.spec.run_strategy == "Halted"
    assert log == ["get", "update"] * 3


async def test_too_many_conflicts_give_up_with_the_conflict() -> None:
    calls, log = calls_with_conflicts(WRITE_ATTEMPTS)
    with pytest.raises(HttpFailure) as failure:
        await modify(calls, TARGET, stop, context=None)  # type: ignore[arg-type]
    assert failure.value.status["code"] == 409 and log.count("update") == WRITE_ATTEMPTS


async def test_nothing_to_write_writes_nothing() -> None:
    calls, log = calls_with_conflicts(0)
    await modify(calls, TARGET, lambda obj: False, context=None)  # type: ignore[arg-type]
    assert log == ["get"]
