"""Size bounds hold on every write path through real gRPC, and a refused write changes nothing.

Every bound of tests/support/oversized.py against every way an object can be written: Create,
BatchCreate, Apply (new and existing), Update, UpdateStatus, Bind. The refusal names the field
path and the limit; the store's revision does not move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from atoll import kinds
from atoll.v1 import api_pb2, api_pb2_grpc, object_pb2
from controller.apiserver.server import ApiServer
from tests.support.objects import make_node, make_pod
from tests.support.oversized import CASES, Oversized
from tests.support.threaded_server import threaded_api_server

Stub = Any
_counter = iter(range(1_000_000))


@pytest.fixture(scope="module")
def api() -> Iterator[ApiServer]:
    with threaded_api_server() as server:
        yield server


@pytest.fixture(scope="module")
def stub(api: ApiServer) -> Iterator[Stub]:
    options = [("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(api.address, options=options) as channel:
        stub = api_pb2_grpc.ObjectsStub(channel)
        stub.Create(api_pb2.CreateRequest(object=make_node("n1")), timeout=10)
        yield stub


def _revision(stub: Stub) -> int:
    return int(stub.List(api_pb2.ListRequest(kind="Namespace"), timeout=10).resource_version)


def _refusal(call: Callable[[], Any]) -> str:
    with pytest.raises(grpc.RpcError) as err:
        call()
    failed: Any = err.value
    assert failed.code() == grpc.StatusCode.INVALID_ARGUMENT, failed.details()
    return str(failed.details())


def _carrying(stored: object_pb2.Object, oversized: object_pb2.Object) -> object_pb2.Object:
    """``oversized`` as an update of ``stored`` (its resource_version)."""
    update = object_pb2.Object()
    update.CopyFrom(oversized)
    kinds.unwrap(update).metadata.resource_version = kinds.unwrap(stored).metadata.resource_version
    return update


def _create(stub: Stub, stored: object_pb2.Object | None, oversized: object_pb2.Object) -> str:
    return _refusal(lambda: stub.Create(api_pb2.CreateRequest(object=oversized), timeout=10))


def _batch_create(stub: Stub, stored: object_pb2.Object | None, oversized: object_pb2.Object) -> str:
    response = stub.BatchCreate(api_pb2.BatchCreateRequest(objects=[oversized]), timeout=10)
    assert [result.code for result in response.results] == ["INVALID_ARGUMENT"]
    return str(response.results[0].message)


def _apply(stub: Stub, stored: object_pb2.Object | None, oversized: object_pb2.Object) -> str:
    return _refusal(lambda: stub.Apply(api_pb2.ApplyRequest(object=oversized), timeout=10))


def _update(stub: Stub, stored: object_pb2.Object | None, oversized: object_pb2.Object) -> str:
    assert stored is not None
    update = _carrying(stored, oversized)
    return _refusal(lambda: stub.Update(api_pb2.UpdateRequest(object=update), timeout=10))


# name -> (write, whether the object exists first)
WRITES: dict[str, tuple[Callable[[Stub, object_pb2.Object | None, object_pb2.Object], str], bool]] = {
    "Create": (_create, False),
    "BatchCreate": (_batch_create, False),
    "Apply of a new object": (_apply, False),
    "Apply over a stored object": (_apply, True),
    "Update": (_update, True),
}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
@pytest.mark.parametrize("path", WRITES, ids=[f"by {name}" for name in WRITES])
def test_every_write_path_refuses_every_bound_and_changes_nothing(stub: Stub, path: str, case: Oversized) -> None:
    name = f"big-{next(_counter)}"
    write, exists = WRITES[path]
    stored = stub.Create(api_pb2.CreateRequest(object=case.valid(name)), timeout=10) if exists else None
    before = _revision(stub)
    message = write(stub, stored, case.make(name))
    assert case.problem in message
    assert len(message) < 5_000
    assert _revision(stub) == before, "a refused write changes nothing"


def test_update_status_refuses_an_oversized_status_and_changes_nothing(stub: Stub) -> None:
    stored = stub.Create(api_pb2.CreateRequest(object=make_pod(f"status-{next(_counter)}")), timeout=10)
    for index in range(257):
        stored.pod.status.conditions.add(type=f"T{index}", status="True")
    before = _revision(stub)
    message = _refusal(lambda: stub.UpdateStatus(api_pb2.UpdateRequest(object=stored), timeout=10))
    assert "status.conditions: has 257 entries, more than the limit of 256" in message
    assert _revision(stub) == before


def test_bind_refuses_when_its_own_additions_break_a_bound_and_changes_nothing(stub: Stub) -> None:
    pod = make_pod(f"full-{next(_counter)}")
    pod.pod.metadata.finalizers.extend(f"example.com/f{index}" for index in range(64))
    stub.Create(api_pb2.CreateRequest(object=pod), timeout=10)
    before = _revision(stub)
    binding = api_pb2.Binding(kind="Pod", namespace="default", name=pod.pod.metadata.name, node_name="n1")
    result = stub.Bind(api_pb2.BindRequest(bindings=[binding]), timeout=10).results[0]
    assert (result.code, result.message) == (
        "INVALID",
        f"pod/default/{pod.pod.metadata.name}: metadata.finalizers: has 65 entries, more than the limit of 64",
    )
    assert _revision(stub) == before
