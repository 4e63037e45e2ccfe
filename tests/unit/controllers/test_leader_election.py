"""Leader election: one leader at a time, compare-revision renewal, a leader that cannot renew
stops before anyone else starts, release on clean shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
import pytest

from atoll.client import ApiError
from atoll.clock import ManualClock
from atoll.leaderelection import ElectionConfig, LeaderElector
from tests.support.fake_api import FakeApi


class Partitionable:
    """The fake API as seen by one candidate; ``cut`` makes every call fail with UNAVAILABLE."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.cut = False

    async def get(self, kind: str, name: str, namespace: str = "default") -> Any:
        self._check()
        return await self.api.get(kind, name, namespace)

    async def create(self, obj: Any) -> Any:
        self._check()
        return await self.api.create(obj)

    async def update(self, obj: Any) -> Any:
        self._check()
        return await self.api.update(obj)

    def _check(self) -> None:
        if self.cut:
            raise ApiError(grpc.StatusCode.UNAVAILABLE, "partitioned")


class Timeline:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.entries: list[tuple[float, str, str]] = []
        self.acting: set[str] = set()
        self.overlaps = 0

    def lead(self, who: str) -> Any:
        async def lead() -> None:
            self.entries.append((self.clock.now(), who, "start"))
            if self.acting:
                self.overlaps += 1
            self.acting.add(who)
            try:
                await asyncio.Event().wait()
            finally:
                self.acting.discard(who)
                self.entries.append((self.clock.now(), who, "stop"))

        return lead

    def when(self, who: str, what: str) -> float:
        return next(at for at, name, kind in self.entries if (name, kind) == (who, what))


def config(identity: str) -> ElectionConfig:
    return ElectionConfig("atoll-controller", identity=identity, lease_duration=15, renew_deadline=10, retry_period=2)


async def start(api: Any, clock: ManualClock, timeline: Timeline, who: str) -> tuple[LeaderElector, asyncio.Task[None]]:
    elector = LeaderElector(api, config(who), clock)
    return elector, asyncio.create_task(elector.run(timeline.lead(who)))


async def tick(clock: ManualClock, seconds: float) -> None:
    for _ in range(int(seconds)):
        await clock.advance_and_settle(1)


@pytest.fixture
async def api() -> FakeApi:
    return await FakeApi(ManualClock()).setup()


async def test_one_candidate_leads_and_the_other_waits_while_it_renews(api: FakeApi) -> None:
    clock = ManualClock()
    timeline = Timeline(clock)
    first, first_task = await start(api, clock, timeline, "a")
    await tick(clock, 1)
    second, second_task = await start(api, clock, timeline, "b")
    await tick(clock, 120)
    assert (first.is_leader, second.is_leader) == (True, False)
    assert timeline.overlaps == 0
    lease = (await api.get("Lease", "atoll-controller", "atoll-system")).lease
    assert lease.spec.holder_identity == "a"
    for task in (first_task, second_task):
        task.cancel()
    await asyncio.gather(first_task, second_task, return_exceptions=True)


async def test_a_partitioned_leader_stops_acting_before_another_starts(api: FakeApi) -> None:
    clock = ManualClock()
    timeline = Timeline(clock)
    view_a = Partitionable(api)
    first, first_task = await start(view_a, clock, timeline, "a")
    await tick(clock, 1)
    second, second_task = await start(api, clock, timeline, "b")
    await tick(clock, 10)
    view_a.cut = True
    cut_at = clock.now()
    await tick(clock, 40)
    assert second.is_leader and not first.is_leader
    assert timeline.when("a", "stop") < timeline.when("b", "start")
    assert timeline.when("a", "stop") - cut_at <= 10
    assert timeline.when("b", "start") - cut_at <= 15 + 2 + 2
    assert timeline.overlaps == 0
    for task in (first_task, second_task):
        task.cancel()
    await asyncio.gather(first_task, second_task, return_exceptions=True)


async def test_a_renewal_from_a_stale_revision_is_refused(api: FakeApi) -> None:
    clock = ManualClock()
    elector = LeaderElector(api, config("a"), clock)
    assert await elector.try_acquire_or_renew()
    lease = (await api.get("Lease", "atoll-controller", "atoll-system")).lease
    stale = lease.metadata.resource_version
    lease.spec.holder_identity = "intruder"
    await api.update(lease)
    lease.metadata.resource_version = stale
    with pytest.raises(ApiError) as raised:
        await api.update(lease)
    assert raised.value.code == grpc.StatusCode.ABORTED
    assert not await elector.try_acquire_or_renew()  # the intruder's record is fresh to us


async def test_a_leader_that_shuts_down_cleanly_hands_over_within_a_retry_period(api: FakeApi) -> None:
    clock = ManualClock()
    timeline = Timeline(clock)
    _, first_task = await start(api, clock, timeline, "a")
    await tick(clock, 1)
    second, second_task = await start(api, clock, timeline, "b")
    await tick(clock, 5)
    first_task.cancel()
    await asyncio.gather(first_task, return_exceptions=True)
    stopped = clock.now()
    await tick(clock, 3)
    assert second.is_leader
    assert timeline.when("b", "start") - stopped <= 3
    second_task.cancel()
    await asyncio.gather(second_task, return_exceptions=True)


def test_a_renew_deadline_not_shorter_than_the_lease_is_refused() -> None:
    with pytest.raises(ValueError, match="renew deadline < lease duration"):
        ElectionConfig("x", lease_duration=10, renew_deadline=10, retry_period=2)


async def test_a_holder_proven_gone_is_taken_over_at_once_and_one_not_proven_is_waited_out(api: FakeApi) -> None:
    clock = ManualClock()
    assert await LeaderElector(api, config("killed"), clock).try_acquire_or_renew()  # then killed -9
    waiting = LeaderElector(api, config("b"), clock, holder_gone=lambda _holder: False)
    assert not await waiting.try_acquire_or_renew()
    successor = LeaderElector(api, config("c"), clock, holder_gone=lambda holder: holder == "killed")
    assert await successor.try_acquire_or_renew()
    lease = (await api.get("Lease", "atoll-controller", "atoll-system")).lease
    assert (lease.spec.holder_identity, lease.spec.lease_transitions) == ("c", 1)
    late = LeaderElector(api, config("d"), clock, holder_gone=lambda holder: holder == "killed")
    assert not await late.try_acquire_or_renew(), "the successor holds it now, alive"


async def test_a_candidate_says_once_per_holder_which_lease_it_waits_for_and_who_holds_it(
    api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    holder = "h\nforged line " + "h" * 3900  # the API bounds strings at 4,096 characters
    assert await LeaderElector(api, config(holder), clock).try_acquire_or_renew()
    waiting = LeaderElector(api, config("b"), clock)
    with caplog.at_level(logging.WARNING, logger="atoll.leaderelection"):
        for _ in range(3):
            assert not await waiting.try_acquire_or_renew()
            await clock.advance_and_settle(1)
    lines = [record.getMessage() for record in caplog.records if "standing by" in record.getMessage()]
    assert len(lines) == 1, lines
    assert "lease atoll-system/atoll-controller is held by h\\nforged line hhh" in lines[0]
    assert "\n" not in lines[0] and "(3594 more characters)" in lines[0] and len(lines[0]) < 600
