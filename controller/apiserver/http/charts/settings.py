"""Where the console's charts come from, as the composition root (`atoll up`) says."""

from __future__ import annotations

from dataclasses import dataclass

from controller.apiserver.auth.guard import SecurityGuard
from controller.apiserver.http.charts.handler import ChartsApi
from controller.apiserver.http.charts.history import DEFAULT_INTERVAL, ChartHistory, MetricsSource
from controller.apiserver.http.charts.phases import PhaseCounter
from controller.apiserver.http.charts.prometheus import PrometheusCharts
from controller.store.protocol import Store


@dataclass(frozen=True)
class ChartSettings:
    """``interval``: seconds between samples (and the Prometheus query step); ``scheduler_metrics``:
    the scheduler's /metrics text when it runs beside this server (None: no scheduling charts from
    the server's own history); ``prometheus_url``: answer the charts from this Prometheus instead.
    The server samples workloads by phase in every case (the gauge Prometheus scrapes)."""

    interval: float = DEFAULT_INTERVAL
    scheduler_metrics: MetricsSource | None = None
    prometheus_url: str | None = None

    def build(self, guard: SecurityGuard | None, store: Store) -> ChartsApi:
        history = ChartHistory(PhaseCounter(store), self.scheduler_metrics, self.interval)
        prometheus = PrometheusCharts(self.prometheus_url, self.interval) if self.prometheus_url else None
        return ChartsApi(guard, history, prometheus)
