"""The watch cache's per-watcher Subscription: batches in order, timeouts, failures, backlog."""

from __future__ import annotations

import asyncio

import pytest

from atoll import kinds
from controller.apiserver.errors import GoneError, UnavailableError
from controller.apiserver.watch_cache import CachedEvent, Subscription

POD = kinds.by_name("Pod")
PREFIX = POD.prefix("default")


def event(revision: int, namespace: str = "default") -> CachedEvent:
    key = POD.key(namespace, f"p{revision}")
    return CachedEvent(revision=revision, kind=POD, key=key, deleted=False, value=b"", prev_value=None)


async def test_everything_offered_before_the_wait_arrives_in_one_batch_in_order() -> None:
    subscription = Subscription(PREFIX, after=1, max_backlog=100)
    for revision in (1, 2, 3):  # 1 is not after ``after``
        subscription.offer(event(revision))
    subscription.offer(event(4, namespace="other"))  # another prefix
    assert [e.revision for e in await subscription.next_batch(None)] == [2, 3]


async def test_a_waiting_watcher_wakes_on_the_next_event() -> None:
    subscription = Subscription(PREFIX, after=0, max_backlog=100)
    waiting = asyncio.create_task(subscription.next_batch(30.0))
    await asyncio.sleep(0)
    assert not waiting.done()
    subscription.offer(event(5))
    assert [e.revision for e in await asyncio.wait_for(waiting, 5)] == [5]
    subscription.close()


async def test_a_wait_with_nothing_offered_ends_empty_at_its_timeout() -> None:
    subscription = Subscription(PREFIX, after=0, max_backlog=100)
    assert await asyncio.wait_for(subscription.next_batch(0.01), 5) == []
    subscription.close()


async def test_a_shorter_wait_after_a_longer_one_is_not_held_to_the_longer_timer() -> None:
    subscription = Subscription(PREFIX, after=0, max_backlog=100)
    long_wait = asyncio.create_task(subscription.next_batch(60.0))
    await asyncio.sleep(0)
    subscription.offer(event(1))
    await long_wait  # its 60 s timer may still be armed
    assert await asyncio.wait_for(subscription.next_batch(0.01), 5) == []
    subscription.close()


async def test_a_longer_wait_after_a_shorter_one_outlives_the_shorter_timer() -> None:
    subscription = Subscription(PREFIX, after=0, max_backlog=100)
    short_wait = asyncio.create_task(subscription.next_batch(0.05))
    await asyncio.sleep(0)
    subscription.offer(event(1))
    await short_wait  # its 0.05 s timer stays armed
    longer = asyncio.create_task(subscription.next_batch(30.0))
    await asyncio.sleep(0.2)
    assert not longer.done()
    subscription.offer(event(2))
    assert [e.revision for e in await asyncio.wait_for(longer, 5)] == [2]
    subscription.close()


async def test_events_before_a_failure_come_first_then_the_failure() -> None:
    subscription = Subscription(PREFIX, after=0, max_backlog=100)
    subscription.offer(event(1))
    subscription.fail(UnavailableError("shutting down"))
    subscription.offer(event(2))  # after the failure: dropped
    assert [e.revision for e in await subscription.next_batch(None)] == [1]
    with pytest.raises(UnavailableError):
        await subscription.next_batch(None)


async def test_a_watcher_too_far_behind_is_told_to_relist() -> None:
    subscription = Subscription(PREFIX, after=0, max_backlog=2)
    for revision in (1, 2, 3):
        subscription.offer(event(revision))
    assert [e.revision for e in await subscription.next_batch(None)] == [1, 2]
    with pytest.raises(GoneError):
        await subscription.next_batch(None)
