"""The charts from a Prometheus that scrapes the cluster (deploy/prometheus/prometheus.yml): the
same document as history.py, over the last hour at the chart interval, from query_range.

Workloads by phase come from atoll_apiserver_workloads (set by the API servers' samplers), the
scheduling rate and latency from the scheduler's counter and histogram, as Grafana's panels read
them. Prometheus unreachable or answering an error: ChartsUnavailable naming it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp

from atoll.user_text import bounded_repr
from controller.apiserver.http.charts.exposition import E2E_LATENCY, SCHEDULED
from controller.apiserver.http.charts.history import SPAN

# Every API server of a cluster reports the whole cluster's count: the max across them, then the kinds' sum.
PHASES = "sum by (phase) (max by (kind, phase) (atoll_apiserver_workloads))"
_TIMEOUT = aiohttp.ClientTimeout(total=10)


class ChartsUnavailable(Exception):
    """Prometheus could not answer; the message says which and why (one line)."""


class PrometheusCharts:
    def __init__(self, url: str, interval: float, clock: Callable[[], float] = time.time) -> None:
        self.url = url.rstrip("/")
        self.interval = interval
        self._clock = clock
        window = f"{max(60, int(2 * interval))}s"  # rate() needs two scrapes inside its window
        latency = f"sum by (le) (rate({E2E_LATENCY}_bucket[{window}]))"
        self._queries = {
            "scheduledPerSecond": f'sum(rate({SCHEDULED}{{result="scheduled"}}[{window}]))',
            "p50Seconds": f"histogram_quantile(0.5, {latency})",
            "p99Seconds": f"histogram_quantile(0.99, {latency})",
        }

    async def document(self) -> dict[str, Any]:
        end = self._clock()
        params = {"start": f"{end - SPAN:.3f}", "end": f"{end:.3f}", "step": f"{self.interval:g}"}
        samples: dict[float, dict[str, Any]] = {}

        def at(moment: float) -> dict[str, Any]:
            return samples.setdefault(moment, {"time": moment, "phases": None, "scheduled": None,
                                               "scheduledPerSecond": None, "p50Seconds": None,
                                               "p99Seconds": None})  # fmt: skip

        async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
            for series in await self._range(session, PHASES, params):
                phase = str(series.get("metric", {}).get("phase", ""))
                for moment, value in _values(series):
                    entry = at(moment)
                    entry["phases"] = (entry["phases"] or {}) | {phase: round(value)}
            for field, query in self._queries.items():
                for series in await self._range(session, query, params):
                    for moment, value in _values(series):
                        at(moment)[field] = value
        for entry in samples.values():
            if entry["scheduledPerSecond"] is not None:
                entry["scheduled"] = round(entry["scheduledPerSecond"] * self.interval, 3)
        return {
            "source": "prometheus",
            "prometheus": self.url,
            "intervalSeconds": self.interval,
            "schedulerMetrics": True,
            "samples": [samples[moment] for moment in sorted(samples)],
        }

    async def _range(self, session: aiohttp.ClientSession, query: str, params: dict[str, str]) -> list[Any]:
        where = f"Prometheus {self.url}"
        try:
            async with session.get(f"{self.url}/api/v1/query_range", params={"query": query, **params}) as answer:
                body = await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ChartsUnavailable(f"{where}: {bounded_repr(str(exc) or type(exc).__name__)}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            raise ChartsUnavailable(f"{where}: query failed: {bounded_repr(str(error or body))}")
        result = body.get("data", {}).get("result", [])
        return result if isinstance(result, list) else []


def _values(series: Any) -> list[tuple[float, float]]:
    """(time, value) pairs of a range series; NaN (no data in the window) is left out."""
    pairs = []
    for pair in series.get("values", []) if isinstance(series, dict) else []:
        try:
            moment, value = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError):
            continue
        if value == value:  # not NaN
            pairs.append((moment, value))
    return pairs
