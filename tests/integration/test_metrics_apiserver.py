"""The API server's /metrics as `atoll up` serves it: every declared family, with requests counted
by method, kind and code, and `--metrics-listen-base` with port 0 printing the ports it chose."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from atoll.client import ApiError, Client
from controller.apiserver import metrics
from tests.support.metrics_scrape import declared, metrics_urls, scrape, value
from tests.support.objects import make_pod
from tests.support.up_process import UpProcess, start_up


@pytest.fixture
def control_plane(tmp_path: Path) -> Iterator[UpProcess]:
    up = start_up(
        tmp_path, "--sim-nodes", "0", "--no-scheduler", "--no-controllers", "--metrics-listen-base", "127.0.0.1:0"
    )
    try:
        yield up
    finally:
        up.kill()


async def test_up_serves_every_declared_api_server_metric_with_requests_counted(control_plane: UpProcess) -> None:
    urls = metrics_urls(control_plane)
    assert set(urls) == {"api-server"}, "only the API server runs, so only it serves metrics"
    async with Client.connect(control_plane.address) as client:
        await client.create(make_pod("web"))
        with pytest.raises(ApiError):
            await client.get("Pod", "missing")
    families = await asyncio.to_thread(scrape, urls["api-server"])
    assert declared(metrics.REGISTRY) - set(families) == set()
    total = "atoll_apiserver_requests_total"
    assert value(families, total, method="Create", kind="Pod", code="OK") == 1
    assert value(families, total, method="Get", kind="Pod", code="NOT_FOUND") == 1
    assert value(families, "atoll_apiserver_objects", kind="Pod") == 1
    assert value(families, "atoll_apiserver_inflight_requests") == 0
