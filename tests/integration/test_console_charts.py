"""GET /console/charts on a secure server: the history it samples (workloads by phase from the
store), the authorizer deciding who may read it, and the same document from a Prometheus
(a stand-in answering query_range as Prometheus does) when one is configured."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from controller.apiserver.http.charts.handler import PATH
from controller.apiserver.http.charts.settings import ChartSettings
from tests.support.http_api import json_of, tls_context
from tests.support.objects import make_pod
from tests.support.secure_cluster import SecureCluster, secure_cluster


def _session(cluster: SecureCluster, token: str | None) -> aiohttp.ClientSession:
    assert cluster.api.http is not None
    context: ssl.SSLContext = tls_context(str(cluster.security.client_ca))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connector = aiohttp.TCPConnector(ssl=context)
    return aiohttp.ClientSession(base_url=cluster.api.http.url, headers=headers, connector=connector)


async def _charts(cluster: SecureCluster, token: str | None) -> tuple[int, dict[str, Any]]:
    async with _session(cluster, token) as session, session.get(PATH) as response:
        return response.status, await json_of(response)


async def test_a_viewer_reads_workloads_by_phase_as_the_store_holds_them(tmp_path: Path) -> None:
    async with secure_cluster(tmp_path, http_listen="127.0.0.1:0", charts=ChartSettings(interval=0.1)) as cluster:
        await cluster.bind("alice-views", "viewer", users=["alice"])
        admin = cluster.admin()
        for index in range(3):
            await admin.create(make_pod(f"web-{index}"))
        running = make_pod("done")
        created = await admin.create(running)
        created.pod.status.phase = "Running"
        await admin.update_status(created)
        for _ in range(100):
            code, document = await _charts(cluster, "tok-alice")
            assert code == 200, document
            if document["samples"] and document["samples"][-1]["phases"] == {"Pending": 3, "Running": 1}:
                break
            await asyncio.sleep(0.05)
        assert document["samples"][-1]["phases"] == {"Pending": 3, "Running": 1}
        assert document["source"] == "api-server"
        assert document["schedulerMetrics"] is False  # no scheduler beside this server: no scheduling figures


async def test_reading_the_charts_takes_credentials_and_the_right_to_list_pods(tmp_path: Path) -> None:
    async with secure_cluster(tmp_path, http_listen="127.0.0.1:0") as cluster:
        code, status = await _charts(cluster, None)
        assert (code, status["reason"]) == (401, "Unauthorized")
        code, status = await _charts(cluster, "tok-alice")  # authenticated, but bound to no role
        assert (code, status["reason"]) == (403, "Forbidden")
        assert "may not list pods" in status["message"]


def _range_answer(query: str) -> dict[str, Any]:
    if "atoll_apiserver_workloads" in query:
        result = [
            {"metric": {"phase": "Running"}, "values": [[1000, "7"], [1030, "8"]]},
            {"metric": {"phase": "Pending"}, "values": [[1000, "2"], [1030, "NaN"]]},
        ]
    elif "histogram_quantile(0.99" in query:
        result = [{"metric": {}, "values": [[1030, "0.25"]]}]
    elif "histogram_quantile(0.5" in query:
        result = [{"metric": {}, "values": [[1030, "0.01"]]}]
    else:
        result = [{"metric": {}, "values": [[1000, "0"], [1030, "4"]]}]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


@pytest.fixture
async def prometheus() -> AsyncIterator[str]:
    async def query_range(request: web.Request) -> web.Response:
        return web.json_response(_range_answer(request.query["query"]))

    app = web.Application()
    app.router.add_get("/api/v1/query_range", query_range)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_with_a_prometheus_the_charts_come_from_its_query_range(tmp_path: Path, prometheus: str) -> None:
    settings = ChartSettings(interval=30, prometheus_url=prometheus)
    async with secure_cluster(tmp_path, http_listen="127.0.0.1:0", charts=settings) as cluster:
        code, document = await _charts(cluster, "tok-root")
    assert code == 200, document
    assert document["source"] == "prometheus"
    assert document["samples"] == [
        {"time": 1000.0, "phases": {"Running": 7, "Pending": 2}, "scheduled": 0.0, "scheduledPerSecond": 0.0,
         "p50Seconds": None, "p99Seconds": None},
        {"time": 1030.0, "phases": {"Running": 8}, "scheduled": 120.0, "scheduledPerSecond": 4.0,
         "p50Seconds": 0.01, "p99Seconds": 0.25},
    ]  # fmt: skip


async def test_an_unreachable_prometheus_is_503_naming_it(tmp_path: Path) -> None:
    settings = ChartSettings(interval=30, prometheus_url="http://127.0.0.1:9")  # discard port: nothing listens
    async with secure_cluster(tmp_path, http_listen="127.0.0.1:0", charts=settings) as cluster:
        code, status = await _charts(cluster, "tok-root")
    assert code == 503
    assert status["message"].startswith("charts: Prometheus http://127.0.0.1:9: ")
