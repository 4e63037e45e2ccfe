"""Informers: list then watch, relist on RESYNC, copies for readers, indexes, restart after errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
import pytest

from atoll.client import ApiError
from atoll.clock import ManualClock, settle
from atoll.v1 import api_pb2, meta_pb2, node_pb2, object_pb2, pod_pb2
from atoll.watch_events import ADDED, DELETED, RESYNC, SYNCED
from controller.runtime.informer import Informer
from controller.runtime.shared_informers import SharedInformers
from tests.support.fake_api import FakeApi
from tests.support.objects import make_node, make_pod


def pod_event(kind: str, name: str, revision: int, **labels: str) -> api_pb2.WatchEvent:
    obj: object_pb2.Object = make_pod(name, **labels)
    obj.pod.metadata.resource_version = revision
    return api_pb2.WatchEvent(type=kind, object=obj, resource_version=revision)


def informer_of(*batches: list[api_pb2.WatchEvent], clock: ManualClock | None = None) -> Informer[pod_pb2.Pod]:
    """An informer whose source yields each batch in turn (one per (re)start), then fails."""
    remaining = list(batches)

    async def source() -> AsyncIterator[api_pb2.WatchEvent]:
        if not remaining:
            await asyncio.Event().wait()
        for event in remaining.pop(0):
            yield event
        raise ApiError(grpc.StatusCode.PERMISSION_DENIED, "token expired")

    return Informer(pod_pb2.Pod, source, clock or ManualClock())


def recorder(into: list[tuple[str, str]]) -> Callable[[str, pod_pb2.Pod, pod_pb2.Pod | None], None]:
    def handler(event_type: str, obj: pod_pb2.Pod, previous: pod_pb2.Pod | None) -> None:
        into.append((event_type, obj.metadata.name))

    return handler


async def test_readers_get_copies_that_cannot_change_the_cache() -> None:
    informer = Informer(pod_pb2.Pod, lambda: _never(), ManualClock())
    informer.apply(pod_event(ADDED, "web", 5))
    informer.apply(pod_event(SYNCED, "", 5))
    copy = informer.get("default/web")
    assert copy is not None
    copy.metadata.labels["tampered"] = "yes"
    again = informer.get("default/web")
    assert again is not None and "tampered" not in again.metadata.labels
    assert "tampered" not in informer.list()[0].metadata.labels
    assert informer.has_synced


async def test_a_resync_deletes_what_the_new_list_lacks_and_upserts_the_rest() -> None:
    seen: list[tuple[str, str]] = []
    informer = Informer(pod_pb2.Pod, lambda: _never(), ManualClock())
    informer.add_handler(recorder(seen))
    for event in (pod_event(ADDED, "a", 2), pod_event(ADDED, "b", 3), api_pb2.WatchEvent(type=SYNCED)):
        informer.apply(event)
    for event in (
        api_pb2.WatchEvent(type=RESYNC),
        pod_event(ADDED, "a", 2),
        pod_event(ADDED, "c", 9),
        api_pb2.WatchEvent(type=SYNCED),
    ):
        informer.apply(event)
    assert sorted(informer.keys()) == ["default/a", "default/c"]
    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("DELETED", "b")]


async def test_indexes_follow_label_changes_and_deletions() -> None:
    informer = Informer(pod_pb2.Pod, lambda: _never(), ManualClock())
    informer.add_index("app", lambda obj: [obj.metadata.labels["app"]])
    informer.apply(pod_event(ADDED, "a", 2, app="web"))
    informer.apply(pod_event("MODIFIED", "a", 3, app="db"))
    assert informer.by_index("app", "web") == []
    assert [pod.metadata.name for pod in informer.by_index("app", "db")] == ["a"]
    informer.apply(pod_event(DELETED, "a", 4, app="db"))
    assert informer.index_keys("app", "db") == set()


async def test_a_failed_source_is_restarted_after_a_delay_and_relisted() -> None:
    clock = ManualClock()
    seen: list[tuple[str, str]] = []
    first = [pod_event(ADDED, "a", 2), pod_event(ADDED, "b", 2), api_pb2.WatchEvent(type=SYNCED)]
    second = [pod_event(ADDED, "b", 2), api_pb2.WatchEvent(type=SYNCED)]
    informer = informer_of(first, second, clock=clock)
    informer.add_handler(recorder(seen))
    task = asyncio.create_task(informer.run())
    await settle()
    assert informer.has_synced and len(informer) == 2
    await clock.advance_and_settle(1.0)
    assert informer.keys() == ["default/b"]
    assert seen[-1] == ("DELETED", "a")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_handlers_get_the_new_object_and_the_one_it_replaced() -> None:
    calls: list[tuple[str, str, int | None]] = []

    def handler(event_type: str, obj: pod_pb2.Pod, previous: pod_pb2.Pod | None) -> None:
        replaced = None if previous is None else int(previous.metadata.labels["v"])
        calls.append((event_type, obj.metadata.labels["v"], replaced))

    informer = Informer(pod_pb2.Pod, lambda: _never(), ManualClock())
    informer.add_handler(handler)
    informer.apply(pod_event(ADDED, "a", 2, v="1"))
    informer.apply(pod_event("MODIFIED", "a", 3, v="2"))
    informer.apply(pod_event(DELETED, "a", 4, v="3"))
    assert calls == [("ADDED", "1", None), ("MODIFIED", "2", 1), ("DELETED", "2", None)]


async def test_an_object_of_another_kind_in_the_stream_is_refused() -> None:
    informer = Informer(pod_pb2.Pod, lambda: _never(), ManualClock())
    with pytest.raises(TypeError, match="informer pods: the watch delivered a Node"):
        informer.apply(api_pb2.WatchEvent(type=ADDED, object=make_node("n1")))
    assert len(informer) == 0


def test_an_informer_needs_the_message_of_an_api_kind() -> None:
    with pytest.raises(ValueError, match="ObjectMeta is not the message of an API kind"):
        Informer(meta_pb2.ObjectMeta, lambda: _never(), ManualClock())  # type: ignore[type-var]


async def test_shared_informers_hand_out_one_informer_per_kind_and_namespace_and_follow_the_api() -> None:
    clock = ManualClock()
    api = await FakeApi(clock).setup()
    await api.create(make_pod("web"))
    shared = SharedInformers(api, clock)
    pods = shared.informer(pod_pb2.Pod)
    assert shared.informer(pod_pb2.Pod) is pods
    assert shared.informer(pod_pb2.Pod, "team-a") is not pods
    nodes = shared.informer(node_pb2.Node)
    shared.start()
    try:
        await asyncio.wait_for(shared.wait_synced(), 5)
        assert pods.keys() == ["default/web"] and len(nodes) == 0
        await api.create(make_node("n1"))
        for _ in range(100):
            if nodes.contains("n1"):
                break
            await asyncio.sleep(0)
        assert nodes.get("n1") is not None
    finally:
        await shared.stop()


async def _never() -> AsyncIterator[api_pb2.WatchEvent]:
    await asyncio.Event().wait()
    yield api_pb2.WatchEvent()
