"""``GET .../{pods,virtualmachines}/NAME/log``: the workload's log as text lines, read through the
same guarded logs proxy ``atoll logs`` uses (needs ``get`` on the workload; counts as a stream).

Parameters (Kubernetes' names): ``container``, ``tailLines``, ``follow=true``, ``previous=true``,
``timestamps=true``, ``sinceSeconds``, ``sinceTime`` (RFC 3339). A refusal or a workload that has no
log yet answers a Status with its code when it comes within the first moment; after the 200 has
started, the stream just ends (as kubectl's does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from atoll.user_text import bounded_repr
from atoll.v1 import agent_pb2
from controller.apiserver.http import query
from controller.apiserver.http.context import Context
from controller.apiserver.http.objects import Handler
from controller.apiserver.http.paths import Target
from controller.apiserver.http.status import BAD_REQUEST, NOT_FOUND_PATH, HttpFailure, fail
from controller.apiserver.logs_proxy import LogsProxy

WORKLOADS = frozenset({"Pod", "VirtualMachine"})
# How long the answer waits for the first chunk, so early refusals get their own HTTP code.
_FIRST_CHUNK_SECONDS = 2.0


class LogsApi:
    def __init__(self, proxy: LogsProxy) -> None:
        self._proxy = proxy

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {("GET", "log"): self.handle}

    async def handle(self, request: web.Request, target: Target, context: Context) -> web.StreamResponse:
        if target.kind.name not in WORKLOADS:
            raise fail(NOT_FOUND_PATH, f"{target.kind.plural} have no log; pods and virtualmachines do")
        logs_request = agent_pb2.LogsRequest(
            kind=target.kind.name,
            namespace=target.namespace,
            name=target.name,
            container=query.text(request.query, "container"),
            follow=query.flag(request.query, "follow"),
            previous=query.flag(request.query, "previous"),
            timestamps=query.flag(request.query, "timestamps"),
            since_seconds=query.integer(request.query, "sinceSeconds"),
        )
        if request.query.get("tailLines"):
            logs_request.tail_lines = query.integer(request.query, "tailLines")
        since_time = query.text(request.query, "sinceTime")
        if since_time:
            try:
                logs_request.since_time.FromJsonString(since_time)
            except ValueError:
                message = f"query parameter sinceTime: expected RFC 3339, got {bounded_repr(since_time)}"
                raise fail(BAD_REQUEST, message) from None
        chunks = await self._proxy.open(logs_request, context)
        first = asyncio.ensure_future(anext(chunks, None))
        try:
            await asyncio.wait({first}, timeout=_FIRST_CHUNK_SECONDS)
            if first.done():
                first.result()  # a refusal raises HttpFailure here, before any byte is sent
            stream = web.StreamResponse(
                headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
            )
            await stream.prepare(request)
            with contextlib.suppress(HttpFailure, ConnectionResetError):
                chunk = await first
                while chunk is not None:
                    await stream.write("".join(f"{line}\n" for line in chunk.lines).encode())
                    chunk = await anext(chunks, None)
            await stream.write_eof()
            return stream
        finally:
            if not first.done():
                first.cancel()
            await _close(chunks)


async def _close(chunks: AsyncIterator[agent_pb2.LogChunk]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
