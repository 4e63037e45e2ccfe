"""The console charts' server side: readings from the scheduler's exposition text, counter and
histogram increases across resets, quantiles as Prometheus computes them, and the sampled history."""

from __future__ import annotations

import asyncio

import pytest

from controller.apiserver.http.charts.exposition import (
    buckets_increase,
    increase,
    quantile,
    read_scheduler,
)
from controller.apiserver.http.charts.history import ChartHistory
from controller.store.protocol import StoreUnavailableError


def exposition(scheduled: float, buckets: dict[str, float]) -> str:
    lines = [
        "# TYPE atoll_scheduler_schedule_attempts_total counter",
        f'atoll_scheduler_schedule_attempts_total{{result="scheduled"}} {scheduled}',
        'atoll_scheduler_schedule_attempts_total{result="unschedulable"} 99',
        "# TYPE atoll_scheduler_e2e_scheduling_duration_seconds histogram",
    ]
    lines += [f'atoll_scheduler_e2e_scheduling_duration_seconds_bucket{{le="{le}"}} {n}' for le, n in buckets.items()]
    lines += [f"atoll_scheduler_e2e_scheduling_duration_seconds_count {list(buckets.values())[-1]}",
              "atoll_scheduler_e2e_scheduling_duration_seconds_sum 1.0"]  # fmt: skip
    return "\n".join(lines) + "\n"


def test_the_scheduled_count_and_latency_buckets_are_read_from_the_text() -> None:
    reading = read_scheduler(exposition(7, {"0.01": 3, "0.1": 6, "+Inf": 7}))
    assert reading is not None
    assert reading.scheduled == 7
    assert reading.latency_buckets == ((0.01, 3), (0.1, 6), (float("inf"), 7))


def test_text_of_another_component_has_no_scheduler_reading() -> None:
    assert read_scheduler("# TYPE atoll_agent_pods gauge\natoll_agent_pods 3\n") is None


@pytest.mark.parametrize(("now", "before", "expected"), [
    pytest.param(10, 4, 6, id="a counter that grew increased by the difference"),
    pytest.param(3, 40, 3, id="a counter that went down was reset: all of it is new"),
])
def test_increase(now: float, before: float, expected: float) -> None:
    assert increase(now, before) == expected


def test_bucket_increases_are_per_bucket_and_a_reset_starts_over() -> None:
    before = ((0.1, 2.0), (float("inf"), 3.0))
    assert buckets_increase(((0.1, 5.0), (float("inf"), 9.0)), before) == ((0.1, 3.0), (float("inf"), 6.0))
    assert buckets_increase(((0.1, 1.0), (float("inf"), 1.0)), before) == ((0.1, 1.0), (float("inf"), 1.0))
    assert buckets_increase(((0.1, 1.0), (float("inf"), 1.0)), ()) == ((0.1, 1.0), (float("inf"), 1.0))


@pytest.mark.parametrize(("q", "buckets", "expected"), [
    pytest.param(0.5, ((1.0, 10.0), (2.0, 20.0), (float("inf"), 20.0)), 1.0, id="the median at a bucket's bound"),
    pytest.param(0.75, ((1.0, 10.0), (2.0, 20.0), (float("inf"), 20.0)), 1.5, id="interpolated inside a bucket"),
    pytest.param(0.25, ((1.0, 10.0), (float("inf"), 10.0)), 0.25, id="interpolated from zero in the first bucket"),
    pytest.param(0.99, ((1.0, 1.0), (float("inf"), 100.0)), 1.0, id="in the +Inf bucket: the highest finite bound"),
    pytest.param(0.5, ((1.0, 0.0), (float("inf"), 0.0)), None, id="no observations: no quantile"),
])
def test_quantile_as_prometheus_histogram_quantile(
    q: float, buckets: tuple[tuple[float, float], ...], expected: float | None
) -> None:
    assert quantile(q, buckets) == expected


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_history_samples_phases_and_the_scheduling_rate_between_samples() -> None:
    clock = Clock()
    texts = iter([exposition(2, {"0.01": 2, "+Inf": 2}), exposition(12, {"0.01": 6, "+Inf": 12})])
    phases = iter([{"Pending": 3}, {"Running": 10, "Pending": 2}])

    async def read_phases() -> dict[str, int]:
        return next(phases)

    async def read_metrics() -> str:
        return next(texts)

    async def scenario() -> dict[str, object]:
        history = ChartHistory(read_phases, read_metrics, interval=5, clock=clock)
        first = await history.sample()
        assert first.scheduled is None  # the first reading is the baseline
        clock.now += 5
        second = await history.sample()
        assert second.scheduled == 10
        assert second.scheduled_per_second == 2.0
        assert second.p50_seconds == pytest.approx(0.01)  # 4 of the 10 within 10 ms, the median above
        return history.document()

    document = asyncio.run(scenario())
    samples = document["samples"]
    assert isinstance(samples, list)
    assert [sample["phases"] for sample in samples] == [{"Pending": 3}, {"Running": 10, "Pending": 2}]
    assert document["schedulerMetrics"] is True


def test_a_failing_source_leaves_its_figures_empty_and_sampling_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def unavailable() -> dict[str, int]:
        raise StoreUnavailableError("store down")

    async def scenario() -> None:
        history = ChartHistory(unavailable, None, interval=1, clock=Clock())
        for _ in range(3):
            sample = await history.sample()
            assert sample.phases is None and sample.scheduled is None
        assert len(history.document()["samples"]) == 3

    asyncio.run(scenario())
    assert sum("cannot count workloads" in record.message for record in caplog.records) == 1  # once, not per sample


def test_the_history_keeps_the_last_hour_only() -> None:
    async def none() -> dict[str, int]:
        return {}

    async def scenario() -> int:
        clock = Clock()
        history = ChartHistory(none, None, interval=600, clock=clock)
        for _ in range(20):
            await history.sample()
            clock.now += 600
        return len(history.document()["samples"])

    assert asyncio.run(scenario()) == 7  # 3600 / 600 + 1


def test_a_zero_interval_is_refused() -> None:
    async def none() -> dict[str, int]:
        return {}

    with pytest.raises(ValueError, match="chart interval"):
        ChartHistory(none, None, interval=0)
