"""A watch from an old revision, or from the start, reaches a stock gRPC client (4 MiB receive
limit, no channel options): the server pages events into responses of bounded size."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from atoll.v1 import api_pb2, api_pb2_grpc
from controller.apiserver import wire
from controller.apiserver.server import ApiServer
from tests.support.objects import make_pod
from tests.support.threaded_server import threaded_api_server

PODS = 8
ENV_VALUES = 16  # 16 x 60 KiB: each pod ~1 MB, all of them ~8 MB, twice the stock limit
STOCK_LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def api() -> Iterator[ApiServer]:
    with threaded_api_server() as server:
        yield server


@pytest.fixture(scope="module")
def first_revision(api: ApiServer) -> int:
    with grpc.insecure_channel(api.address) as channel:
        stub = api_pb2_grpc.ObjectsStub(channel)
        revisions = []
        for index in range(PODS):
            pod = make_pod(f"big-{index}")
            for value in range(ENV_VALUES):
                pod.pod.spec.containers[0].env.add(name=f"V{value}", value="x" * (60 * 1024))
            revisions.append(stub.Create(api_pb2.CreateRequest(object=pod), timeout=30).pod.metadata.resource_version)
    return min(revisions)


@pytest.mark.parametrize(
    "start",
    ["initial list", "old revision"],
    ids=["a watch from the start pages its initial list", "a watch from an old revision pages the backlog"],
)
def test_stock_client_receives_every_event_in_bounded_responses(
    api: ApiServer, first_revision: int, start: str
) -> None:
    resource_version = 0 if start == "initial list" else first_revision - 1
    names: list[str] = []
    sizes: list[int] = []
    with grpc.insecure_channel(api.address) as channel:  # stock options: 4 MiB receive limit
        stub = api_pb2_grpc.ObjectsStub(channel)
        call: Any = stub.Watch(api_pb2.WatchRequest(kind="Pod", resource_version=resource_version), timeout=30)
        for response in call:
            sizes.append(response.ByteSize())
            names.extend(event.object.pod.metadata.name for event in response.events)
            if len(names) >= PODS:
                call.cancel()
                break
    assert names == [f"big-{index}" for index in range(PODS)]
    assert len(sizes) > 1 and max(sizes) <= wire.MAX_RESPONSE_BYTES + 1_600_000 < STOCK_LIMIT


def _event(name: str) -> bytes:
    event = api_pb2.WatchEvent(type="ADDED")
    event.object.pod.metadata.name = name
    return bytes(event.SerializeToString())


def test_watch_responses_pack_events_up_to_the_page_size() -> None:
    events = [_event(letter * size) for letter, size in (("a", 400), ("b", 400), ("c", 400), ("d", 2000))]
    pages = [api_pb2.WatchResponse.FromString(page) for page in wire.watch_responses(events, max_bytes=1000)]
    assert [[e.object.pod.metadata.name[0] for e in page.events] for page in pages] == [["a", "b"], ["c"], ["d"]]
    assert list(wire.watch_responses([], max_bytes=1000)) == []
