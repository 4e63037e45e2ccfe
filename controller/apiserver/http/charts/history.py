"""The API server's own chart history, for when no Prometheus is configured: every ``interval``
seconds one sample of workloads by phase (from the store) and, when the scheduler's metrics are at
hand, how many workloads it scheduled since the sample before and the p50/p99 of their end-to-end
scheduling latency (from the increase of its counter and histogram). The last ``span`` seconds are
kept in memory; a restart starts a new history.

A sample whose source failed (store unavailable, metrics unreadable) keeps None for those figures
and logs one line; the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from controller.apiserver.http.charts.exposition import (
    SchedulerReading,
    buckets_increase,
    increase,
    quantile,
    read_scheduler,
)
from controller.store.protocol import StoreError

log = logging.getLogger(__name__)

MetricsSource = Callable[[], Awaitable[str]]  # a component's /metrics exposition text
PhaseSource = Callable[[], Awaitable[dict[str, int]]]
DEFAULT_INTERVAL = 30.0
SPAN = 3600.0


@dataclass(frozen=True)
class Sample:
    time: float  # Unix seconds
    phases: dict[str, int] | None
    scheduled: float | None  # workloads scheduled since the sample before
    scheduled_per_second: float | None
    p50_seconds: float | None
    p99_seconds: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "time": round(self.time, 3),
            "phases": self.phases,
            "scheduled": self.scheduled,
            "scheduledPerSecond": _rounded(self.scheduled_per_second),
            "p50Seconds": _rounded(self.p50_seconds),
            "p99Seconds": _rounded(self.p99_seconds),
        }


class ChartHistory:
    """Samples on ``run()`` (a task the server owns); ``document()`` is the charts' JSON."""

    def __init__(
        self,
        phases: PhaseSource,
        scheduler_metrics: MetricsSource | None,
        interval: float = DEFAULT_INTERVAL,
        span: float = SPAN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"chart interval: must be > 0 seconds, got {interval}")
        self.interval = interval
        self._phases = phases
        self._scheduler_metrics = scheduler_metrics
        self._clock = clock
        self._samples: deque[Sample] = deque(maxlen=max(2, int(span // interval) + 1))
        self._last_reading: tuple[float, SchedulerReading] | None = None
        self._failing: set[str] = set()

    async def run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self.interval)

    async def sample(self) -> Sample:
        now = self._clock()
        phases = await self._read_phases()
        scheduled = per_second = p50 = p99 = None
        reading = await self._read_scheduler()
        if reading is not None:
            if self._last_reading is not None:
                before_time, before = self._last_reading
                scheduled = increase(reading.scheduled, before.scheduled)
                per_second = scheduled / (now - before_time) if now > before_time else None
                latencies = buckets_increase(reading.latency_buckets, before.latency_buckets)
                p50, p99 = quantile(0.5, latencies), quantile(0.99, latencies)
            self._last_reading = (now, reading)
        sample = Sample(now, phases, scheduled, per_second, p50, p99)
        self._samples.append(sample)
        return sample

    def document(self) -> dict[str, Any]:
        return {
            "source": "api-server",
            "intervalSeconds": self.interval,
            "schedulerMetrics": self._scheduler_metrics is not None,
            "samples": [sample.as_json() for sample in self._samples],
        }

    async def _read_phases(self) -> dict[str, int] | None:
        try:
            phases = await self._phases()
        except StoreError as exc:
            self._once("store", f"charts: cannot count workloads: {exc}")
            return None
        self._failing.discard("store")
        return phases

    async def _read_scheduler(self) -> SchedulerReading | None:
        if self._scheduler_metrics is None:
            return None
        try:
            reading = read_scheduler(await self._scheduler_metrics())
        except (OSError, ValueError) as exc:
            self._once("scheduler", f"charts: cannot read the scheduler's metrics: {exc}")
            return None
        self._failing.discard("scheduler")
        return reading

    def _once(self, source: str, message: str) -> None:
        """Logs a failing source once until it works again."""
        if source not in self._failing:
            self._failing.add(source)
            log.warning(message)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
