"""StatusBatcher: concurrent status writes share BatchUpdateStatus calls, each writer hears its own
outcome, a failed call fails only its own writers, and an API server without the RPC gets one
UpdateStatus per object."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
import pytest

from agent.workloads.status_batch import StatusBatcher
from atoll import kinds
from atoll.client import ApiError
from atoll.ports import Writable
from atoll.v1 import api_pb2, object_pb2
from tests.support.objects import make_pod


class FakeStatusApi:
    """Stores statuses by pod name; ``outcome`` names a result code per pod (default OK)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.singles: list[str] = []
        self.outcome: dict[str, str] = {}
        self.fail_next: ApiError | None = None
        self.release = asyncio.Event()
        self.release.set()

    async def batch_update_status(self, objects: Sequence[Writable]) -> api_pb2.BatchUpdateStatusResponse:
        names = [_name(obj) for obj in objects]
        self.batches.append(names)
        await self.release.wait()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        results = []
        for obj, name in zip(objects, names, strict=True):
            code = self.outcome.get(name, "OK")
            stored = _stored(obj) if code == "OK" else object_pb2.Object()
            results.append(api_pb2.UpdateStatusResult(code=code, message=f"{name}: {code}", object=stored))
        return api_pb2.BatchUpdateStatusResponse(results=results)

    async def update_status(self, obj: Writable) -> object_pb2.Object:
        name = _name(obj)
        self.singles.append(name)
        code = self.outcome.get(name, "OK")
        if code != "OK":
            raise ApiError(grpc.StatusCode[code], f"{name}: {code}")
        return _stored(obj)


def _name(obj: Writable) -> str:
    message = kinds.unwrap(obj) if isinstance(obj, object_pb2.Object) else obj
    return str(message.metadata.name)


def _stored(obj: Writable) -> object_pb2.Object:
    stored = object_pb2.Object()
    stored.CopyFrom(obj if isinstance(obj, object_pb2.Object) else kinds.by_name("Pod").wrap(obj))
    stored.pod.metadata.resource_version = 7
    return stored


def _running(name: str) -> object_pb2.Object:
    pod = make_pod(name)
    pod.pod.status.phase = "Running"
    return pod


async def test_concurrent_writes_share_one_call_and_each_gets_its_stored_object() -> None:
    api = FakeStatusApi()
    batcher = StatusBatcher(api, senders=1)
    stored = await asyncio.gather(*(batcher.write(_running(f"p{i}")) for i in range(5)))
    assert api.batches == [["p0", "p1", "p2", "p3", "p4"]]
    assert [(pod.metadata.name, pod.status.phase, pod.metadata.resource_version) for pod in stored] == [
        (f"p{i}", "Running", 7) for i in range(5)
    ]
    await batcher.close()


async def test_writes_made_while_a_call_is_in_flight_go_out_together_in_the_next() -> None:
    api = FakeStatusApi()
    api.release.clear()
    batcher = StatusBatcher(api, senders=1)
    first = asyncio.ensure_future(batcher.write(_running("first")))
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(batcher.write(_running(f"later{i}"))) for i in range(3)]
    await asyncio.sleep(0)
    api.release.set()
    await asyncio.gather(first, *later)
    assert api.batches == [["first"], ["later0", "later1", "later2"]]
    await batcher.close()


async def test_each_writer_hears_its_own_outcome() -> None:
    api = FakeStatusApi()
    api.outcome = {"gone": "NOT_FOUND", "stale": "ABORTED", "bad": "INVALID_ARGUMENT", "odd": "NO_SUCH_CODE"}
    batcher = StatusBatcher(api)
    ok, gone, stale, bad, odd = await asyncio.gather(
        *(batcher.write(_running(name)) for name in ("ok", "gone", "stale", "bad", "odd")), return_exceptions=True
    )
    assert ok.metadata.name == "ok"
    assert gone is None, "a workload that no longer exists is None, as for UpdateStatus"
    assert isinstance(stale, ApiError) and stale.code == grpc.StatusCode.ABORTED and stale.message == "stale: ABORTED"
    assert isinstance(bad, ApiError) and bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(odd, ApiError) and odd.code == grpc.StatusCode.UNKNOWN
    await batcher.close()


async def test_a_failed_call_fails_its_writers_and_the_next_write_goes_through() -> None:
    api = FakeStatusApi()
    api.fail_next = ApiError(grpc.StatusCode.UNAVAILABLE, "restarting")
    batcher = StatusBatcher(api, senders=1)
    results = await asyncio.gather(*(batcher.write(_running(f"p{i}")) for i in range(2)), return_exceptions=True)
    assert [type(result) for result in results] == [ApiError, ApiError]
    assert all(result.code == grpc.StatusCode.UNAVAILABLE for result in results if isinstance(result, ApiError))
    assert (await batcher.write(_running("after"))).metadata.name == "after"
    await batcher.close()


async def test_without_the_rpc_it_writes_one_status_per_call_from_then_on() -> None:
    api = FakeStatusApi()
    api.fail_next = ApiError(grpc.StatusCode.UNIMPLEMENTED, "unknown method BatchUpdateStatus")
    api.outcome = {"gone": "NOT_FOUND"}
    batcher = StatusBatcher(api, senders=1)
    first, gone = await asyncio.gather(batcher.write(_running("first")), batcher.write(_running("gone")))
    assert first.metadata.name == "first" and gone is None
    assert (await batcher.write(_running("then"))).metadata.name == "then"
    assert api.batches == [["first", "gone"]], "one try of the batch RPC, never again"
    assert api.singles == ["first", "gone", "then"]
    await batcher.close()


async def test_a_cancelled_writer_is_not_sent_and_close_fails_the_waiting() -> None:
    api = FakeStatusApi()
    api.release.clear()
    batcher = StatusBatcher(api, senders=1)
    busy = asyncio.ensure_future(batcher.write(_running("busy")))
    await asyncio.sleep(0)
    cancelled = asyncio.ensure_future(batcher.write(_running("cancelled")))
    waiting = asyncio.ensure_future(batcher.write(_running("waiting")))
    await asyncio.sleep(0)
    cancelled.cancel()
    api.release.set()
    await busy
    await waiting
    assert api.batches == [["busy"], ["waiting"]]
    api.release.clear()
    stuck = asyncio.ensure_future(batcher.write(_running("stuck")))
    await asyncio.sleep(0)
    left = asyncio.ensure_future(batcher.write(_running("left")))
    await asyncio.sleep(0)
    await batcher.close()
    for writer in (stuck, left):  # in flight, and still queued
        with pytest.raises(ApiError) as err:
            await writer
        assert err.value.code == grpc.StatusCode.UNAVAILABLE
