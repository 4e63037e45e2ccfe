"""``creating.create_all``: a verb's objects are created in order, and when one is refused or the
command is interrupted, those it created are deleted again, so nothing half-made is left."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from atoll import kinds
from atoll.cli import builders
from atoll.cli.creating import create_all
from atoll.client import ApiError
from atoll.v1 import object_pb2, service_pb2


class Recorder:
    """A client whose Create fails (or never returns) for the object named ``failing``."""

    def __init__(self, failing: str, failure: BaseException | None = None) -> None:
        self.failing = failing
        self.failure = failure
        self.calls: list[tuple[str, str, str]] = []

    async def create(self, obj: object_pb2.Object) -> object_pb2.Object:
        kind, name = kinds.of_object(obj).name, kinds.unwrap(obj).metadata.name
        self.calls.append(("create", kind, name))
        if name == self.failing:
            if self.failure is None:
                await asyncio.Event().wait()  # never answers: the command is interrupted
            raise self.failure  # type: ignore[misc]
        return obj

    async def delete(self, kind: str, name: str, namespace: str) -> Any:
        self.calls.append(("delete", kind, name))


def objects() -> list[object_pb2.Object]:
    port = service_pb2.ServicePort(port=80)
    service = builders.service("web", "default", [port], selector={"run": "web"}, labels={}, service_type="ClusterIP")
    pod = builders.run_pod("pod", "default", builders.ContainerFlags(image="nginx"), labels={}, restart_policy="Always")
    return [service, pod]


async def test_all_created_in_order() -> None:
    client = Recorder(failing="")
    created = await create_all(client, objects())  # type: ignore[arg-type]
    assert [kinds.unwrap(obj).metadata.name for obj in created] == ["web", "pod"]
    assert client.calls == [("create", "Service", "web"), ("create", "Pod", "pod")]


async def test_a_refusal_deletes_what_was_created_and_is_raised() -> None:
    client = Recorder(failing="pod", failure=ApiError(grpc.StatusCode.ALREADY_EXISTS, "pod/default/pod already exists"))
    with pytest.raises(ApiError, match="already exists"):
        await create_all(client, objects())  # type: ignore[arg-type]
    assert client.calls[-1] == ("delete", "Service", "web")


async def test_an_interruption_deletes_what_was_created() -> None:
    client = Recorder(failing="pod")
    task = asyncio.create_task(create_all(client, objects()))  # type: ignore[arg-type]
    while len(client.calls) < 2:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert client.calls == [("create", "Service", "web"), ("create", "Pod", "pod"), ("delete", "Service", "web")]
