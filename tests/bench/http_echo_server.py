"""A bare aiohttp echo service: the ceiling any Python HTTP/JSON API on aiohttp can reach here.

Run: python -m tests.bench.http_echo_server  (prints "PORT <n>" once listening, serves until killed)
"""

from __future__ import annotations

import asyncio

from aiohttp import web


async def _echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), content_type="application/json")


async def serve() -> None:
    app = web.Application()
    app.router.add_post("/echo", _echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
