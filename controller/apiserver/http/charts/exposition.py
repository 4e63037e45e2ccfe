"""What the charts read from a component's Prometheus exposition text: the scheduler's count of
scheduled workloads and its end-to-end scheduling latency histogram, and the quantile of a
histogram's increase as Prometheus' histogram_quantile computes it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

SCHEDULED = "atoll_scheduler_schedule_attempts_total"
E2E_LATENCY = "atoll_scheduler_e2e_scheduling_duration_seconds"

Buckets = tuple[tuple[float, float], ...]  # (upper bound, cumulative count), ascending, +Inf last


@dataclass(frozen=True)
class SchedulerReading:
    """Counter values at one scrape."""

    scheduled: float
    latency_buckets: Buckets


def read_scheduler(text: str) -> SchedulerReading | None:
    """The scheduler's figures in ``text``; None when it holds neither metric (not a scheduler's).
    ValueError for text that is not exposition format."""
    scheduled: float | None = None
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == SCHEDULED and sample.labels.get("result") == "scheduled":
                scheduled = sample.value
            elif sample.name == E2E_LATENCY + "_bucket":
                buckets[float(sample.labels["le"])] = sample.value
    if scheduled is None and not buckets:
        return None
    return SchedulerReading(scheduled or 0.0, tuple(sorted(buckets.items())))


def increase(now: float, before: float) -> float:
    """A counter's increase between two readings; a counter that went down was reset (the
    component restarted), so all of ``now`` is new, as Prometheus' increase() assumes."""
    return now - before if now >= before else now


def buckets_increase(now: Buckets, before: Buckets) -> Buckets:
    """Each bucket's increase; ``before`` with other bounds (or empty) counts as a reset."""
    if [bound for bound, _ in now] != [bound for bound, _ in before]:
        return now
    if any(count < previous for (_, count), (_, previous) in zip(now, before, strict=True)):
        return now
    return tuple((bound, count - previous) for (bound, count), (_, previous) in zip(now, before, strict=True))


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q`` quantile (0..1) of a cumulative histogram, interpolated linearly inside the bucket
    it falls in (Prometheus' histogram_quantile); None without observations. A quantile in the
    +Inf bucket answers the highest finite bound."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound
