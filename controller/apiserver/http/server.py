"""The HTTP listener of the API server: object paths, access reviews, OpenAPI and the console,
in an aiohttp application on the API server's own asyncio loop.

aiohttp because it is an asyncio-native server *and* client that runs inside an existing loop
(no second event loop or thread, as uvicorn's own runner would want), streams responses (watch,
logs), bounds bodies (``client_max_size``) and cancels a handler whose client went away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from controller.apiserver.auth.config import SecurityConfig
from controller.apiserver.auth.guard import SecurityGuard
from controller.apiserver.handlers import ObjectsCalls
from controller.apiserver.http import console, openapi
from controller.apiserver.http.access_review import AccessReviews
from controller.apiserver.http.charts.handler import PATH as CHARTS_PATH
from controller.apiserver.http.charts.handler import ChartsApi
from controller.apiserver.http.context import call_context
from controller.apiserver.http.logs import LogsApi
from controller.apiserver.http.objects import ObjectsApi
from controller.apiserver.http.paths import API_PREFIX
from controller.apiserver.http.rollouts import Rollouts
from controller.apiserver.http.same_origin import same_origin_writes
from controller.apiserver.http.status import NOT_FOUND_PATH, HttpFailure, response, status_object
from controller.apiserver.http.tls import server_ssl_context
from controller.apiserver.http.vm_actions import VmActions
from controller.apiserver.logs_proxy import LogsProxy
from controller.apiserver.request_limits import MAX_REQUEST_BYTES

log = logging.getLogger(__name__)
_SHUTDOWN_SECONDS = 2.0


@dataclass
class HttpApi:
    """A running HTTP listener; ``port`` is the bound port (useful with port 0)."""

    runner: web.AppRunner
    host: str
    port: int
    tls: bool
    charts: ChartsApi | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    async def stop(self) -> None:
        if self.charts is not None:
            await self.charts.stop()
        await self.runner.cleanup()


def build_app(
    calls: ObjectsCalls, guard: SecurityGuard | None, logs: LogsProxy | None, charts: ChartsApi | None = None
) -> web.Application:
    """Every route of the HTTP API; requests over MAX_REQUEST_BYTES are refused with 413."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[same_origin_writes])
    subresources = VmActions(calls).routes() | Rollouts(calls).routes()
    if logs is not None:
        subresources |= LogsApi(logs).routes()
    objects = ObjectsApi(calls, subresources)
    reviews = AccessReviews(guard)
    app.router.add_post(f"{API_PREFIX}/selfsubjectaccessreviews", reviews.handle)
    app.router.add_get(openapi.PATH, _openapi_handler(openapi.document_bytes(), guard))
    console.add_routes(app)
    if charts is not None:
        app.router.add_get(CHARTS_PATH, charts.handle)
    app.router.add_route("*", API_PREFIX + "/{tail:.*}", objects.handle)
    app.router.add_route("*", "/{tail:.*}", _unknown)
    return app


async def start_http_api(
    calls: ObjectsCalls,
    guard: SecurityGuard | None,
    logs: LogsProxy | None,
    listen: str,
    security: SecurityConfig | None,
    charts: ChartsApi | None = None,
) -> HttpApi:
    """Binds ``listen`` (HOST:PORT; port 0 = any free port), TLS when ``security`` is given;
    RuntimeError naming the address when it cannot. ``charts`` (the console's /console/charts)
    samples from when the listener is up until ``stop()``."""
    host, _, port_text = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise RuntimeError(f"cannot listen on {listen!r}: expected HOST:PORT") from None
    ssl_context = server_ssl_context(security) if security is not None else None
    runner = web.AppRunner(
        build_app(calls, guard, logs, charts),
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=_SHUTDOWN_SECONDS,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise RuntimeError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound = int(address[1])
            break
    if charts is not None:
        charts.start()
    return HttpApi(runner, host, bound, ssl_context is not None, charts)


def _openapi_handler(
    body: bytes, guard: SecurityGuard | None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The generated document is the same for every caller and reveals no object, but it does say
    which kinds and fields this server has: like kube-apiserver's /openapi/v3 (system:discovery),
    any authenticated caller may read it, an unauthenticated one gets 401 (and an audit record)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if guard is not None:
            try:
                await guard.identify(call_context(request), "OpenAPI")
            except HttpFailure as failure:
                return response(failure.status)
        return web.Response(body=body, content_type="application/json")

    return handle


async def _unknown(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(0)
    return response(status_object(NOT_FOUND_PATH, f"no such path; the API is under {API_PREFIX}/"))
