"""`atoll up --chart-interval / --prometheus-url`: one line naming the flag for a bad value; the
in-process scheduler's metrics feed the charts unless the scheduler is off."""

from __future__ import annotations

import argparse
import asyncio

import pytest

from allinone import console_charts


def _args(*argv: str, no_scheduler: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    console_charts.add_flags(parser)
    args = parser.parse_args(list(argv))
    args.no_scheduler = no_scheduler
    return args


@pytest.mark.parametrize(("argv", "expected"), [
    pytest.param(("--chart-interval", "0"), "--chart-interval: expected seconds between 0 and 3600, got 0",
                 id="a zero interval"),
    pytest.param(("--chart-interval", "7200"), "--chart-interval: expected seconds between 0 and 3600, got 7200",
                 id="an interval longer than the hour kept"),
    pytest.param(("--prometheus-url", "localhost:9090"), "--prometheus-url: expected http(s)://HOST:PORT, got "
                 "'localhost:9090'", id="a Prometheus address without a scheme"),
])
def test_a_bad_chart_flag_is_one_line_naming_it(argv: tuple[str, ...], expected: str) -> None:
    with pytest.raises(ValueError) as raised:
        console_charts.settings(_args(*argv))
    assert str(raised.value) == expected


def test_the_in_process_scheduler_feeds_the_charts_unless_it_is_off() -> None:
    settings = console_charts.settings(_args("--chart-interval", "5", "--prometheus-url", "http://prom:9090"))
    assert (settings.interval, settings.prometheus_url) == (5.0, "http://prom:9090")
    assert settings.scheduler_metrics is not None
    text = asyncio.run(settings.scheduler_metrics())
    assert "atoll_scheduler_schedule_attempts_total" in text
    assert console_charts.settings(_args(no_scheduler=True)).scheduler_metrics is None
