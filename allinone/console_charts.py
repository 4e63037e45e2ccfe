"""`atoll up`'s console chart flags: the sampling interval, a Prometheus to read instead, and the
in-process scheduler's metrics (its own registry, the text its /metrics port serves) as the
source of the scheduling charts."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from prometheus_client import generate_latest

from atoll.user_text import bounded_repr
from controller.apiserver.http.charts.history import DEFAULT_INTERVAL, SPAN
from controller.apiserver.http.charts.settings import ChartSettings
from scheduler import metrics as scheduler_metrics


def add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chart-interval",
        type=float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between the console charts' samples (default {DEFAULT_INTERVAL:g}; the last hour is kept)",
    )
    parser.add_argument(
        "--prometheus-url",
        default=None,
        metavar="URL",
        help="draw the console charts from this Prometheus (it scrapes the components' /metrics) instead",
    )


def settings(args: argparse.Namespace) -> ChartSettings:
    """The chart settings the flags say; ValueError with one line naming the flag otherwise."""
    interval = args.chart_interval
    if not 0 < interval <= SPAN:
        raise ValueError(f"--chart-interval: expected seconds between 0 and {SPAN:g}, got {interval:g}")
    url = args.prometheus_url
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"--prometheus-url: expected http(s)://HOST:PORT, got {bounded_repr(url)}")
    return ChartSettings(
        interval=interval,
        scheduler_metrics=None if args.no_scheduler else _scheduler_metrics_text,
        prometheus_url=url,
    )


async def _scheduler_metrics_text() -> str:
    return generate_latest(scheduler_metrics.REGISTRY).decode()
