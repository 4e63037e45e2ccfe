"""``GET /console/charts``: the charts' JSON for the console, for callers who may list Pods and
VirtualMachines across namespaces (what the overview shows anyway): from Prometheus when one is
configured, else from the API server's own history. 503 with a Status naming Prometheus when it
cannot answer."""

from __future__ import annotations

import asyncio

from aiohttp import web

from atoll import kinds
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.guard import SecurityGuard
from controller.apiserver.http.charts.history import ChartHistory
from controller.apiserver.http.charts.phases import WORKLOAD_KINDS
from controller.apiserver.http.charts.prometheus import ChartsUnavailable, PrometheusCharts
from controller.apiserver.http.context import call_context
from controller.apiserver.http.encoding import dumps
from controller.apiserver.http.status import HttpFailure, response, status_object

PATH = "/console/charts"
_NO_STORE = {"Cache-Control": "no-store"}


class ChartsApi:
    """Owns the history's sampling task between ``start()`` and ``stop()``."""

    def __init__(self, guard: SecurityGuard | None, history: ChartHistory, prometheus: PrometheusCharts | None) -> None:
        self._guard = guard
        self._history = history
        self._prometheus = prometheus
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._history.run(), name="console-charts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            if self._guard is not None:
                context = call_context(request)
                for name in WORKLOAD_KINDS:  # the phase counts cover both
                    kind = kinds.by_name(name)
                    _, allowed, reason = await self._guard.review(context, RequestAttributes("list", kind))
                    if not allowed:
                        plural = kind.plural
                        message = f"charts: may not list {plural}{': ' if reason else ''}{reason}"
                        return response(status_object((403, "Forbidden"), message))
        except HttpFailure as failure:
            return response(failure.status)
        if self._prometheus is None:
            document = self._history.document()
        else:
            try:
                document = await self._prometheus.document()
            except ChartsUnavailable as exc:
                return response(status_object((503, "ServiceUnavailable"), f"charts: {exc}"))
        return web.Response(body=dumps(document), content_type="application/json", headers=_NO_STORE)
