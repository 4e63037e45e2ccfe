"""EventSink: batched, best-effort Event writes that never block the caller."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from atoll.client import ApiError
from atoll.event_sink import EventSink
from atoll.v1 import api_pb2, event_pb2, object_pb2


def _event(name: str) -> event_pb2.Event:
    event = event_pb2.Event(reason="Started", message="started", type="Normal")
    event.metadata.name, event.metadata.namespace = name, "default"
    return event


class RecordingApi:
    """Answers BatchCreate: names in ``refuse`` get ALREADY_EXISTS; ``fail_calls`` whole calls fail."""

    def __init__(self, refuse: frozenset[str] = frozenset(), fail_calls: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.refuse = refuse
        self.fail_calls = fail_calls
        self.gate = asyncio.Event()
        self.gate.set()

    async def batch_create(self, objects: Sequence[object_pb2.Object]) -> api_pb2.BatchCreateResponse:
        await self.gate.wait()
        self.calls.append([obj.event.metadata.name for obj in objects])
        if self.fail_calls:
            self.fail_calls -= 1
            raise ApiError(grpc.StatusCode.UNAVAILABLE, "store unavailable")
        return api_pb2.BatchCreateResponse(
            results=[
                api_pb2.CreateResult(code="ALREADY_EXISTS" if obj.event.metadata.name in self.refuse else "OK")
                for obj in objects
            ]
        )


async def test_events_queued_while_a_call_is_in_flight_go_out_together() -> None:
    api = RecordingApi()
    sink = EventSink(api, senders=1)
    api.gate.clear()
    sink.put(_event("first"))
    await asyncio.sleep(0)  # the sender takes "first" and waits on the API
    for name in ("a", "b", "c"):
        sink.put(_event(name))
    api.gate.set()
    await sink.flush()
    assert api.calls == [["first"], ["a", "b", "c"]]
    assert (sink.sent, sink.failed, sink.dropped) == (4, 0, 0)
    await sink.close()


async def test_batches_are_capped() -> None:
    api = RecordingApi()
    sink = EventSink(api, senders=1, batch=2)
    for name in ("a", "b", "c", "d", "e"):
        sink.put(_event(name))
    await sink.flush()
    assert api.calls == [["a", "b"], ["c", "d"], ["e"]]
    await sink.close()


async def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    api = RecordingApi()
    api.gate.clear()
    sink = EventSink(api, capacity=2, senders=1)
    for name in ("a", "b", "c", "d"):
        sink.put(_event(name))  # never awaits
    assert sink.dropped == 2
    api.gate.set()
    await sink.flush()
    assert api.calls == [["a", "b"]]
    await sink.close()


async def test_refused_events_and_failed_calls_are_counted_and_the_sender_goes_on() -> None:
    api = RecordingApi(refuse=frozenset({"dup"}), fail_calls=1)
    sink = EventSink(api, senders=1)
    sink.put(_event("lost"))
    await sink.flush()
    sink.put(_event("ok"))
    sink.put(_event("dup"))
    await sink.flush()
    assert api.calls == [["lost"], ["ok", "dup"]]
    assert (sink.sent, sink.failed) == (1, 2)
    await sink.close()
