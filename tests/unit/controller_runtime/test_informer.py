"""Informers: list then watch, relist on RESYNC, copies for readers, indexes, restart after errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from atoll.client import ApiError
from atoll.clock import ManualClock, settle
from atoll.v1 import api_pb2, object_pb2
from atoll.watch_events import ADDED, DELETED, RESYNC, SYNCED
from controller.runtime.informer import Informer
from tests.support.objects import make_pod


def pod_event(kind: str, name: str, revision: int, **labels: str) -> api_pb2.WatchEvent:
    obj: object_pb2.Object = make_pod(name, **labels)
    obj.pod.metadata.resource_version = revision
    return api_pb2.WatchEvent(type=kind, object=obj, resource_version=revision)


def informer_of(*batches: list[api_pb2.WatchEvent], clock: ManualClock | None = None) -> Informer:
    """An informer whose source yields each batch in turn (one per (re)start), then fails."""
    remaining = list(batches)

    async def source() -> AsyncIterator[api_pb2.WatchEvent]:
        if not remaining:
            await asyncio.Event().wait()
        for event in remaining.pop(0):
            yield event
        raise ApiError(grpc.StatusCode.PERMISSION_DENIED, "token expired")

    return Informer("Pod", source, clock or ManualClock())


def recorder(into: list[tuple[str, str]]) -> Any:
    def handler(event_type: str, old: Any, new: Any) -> None:
        into.append((event_type, (new or old).metadata.name))

    return handler


async def test_readers_get_copies_that_cannot_change_the_cache() -> None:
    informer = Informer("Pod", lambda: _never(), ManualClock())
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
    informer = Informer("Pod", lambda: _never(), ManualClock())
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
    informer = Informer("Pod", lambda: _never(), ManualClock())
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


async def _never() -> AsyncIterator[api_pb2.WatchEvent]:
    await asyncio.Event().wait()
    yield api_pb2.WatchEvent()
