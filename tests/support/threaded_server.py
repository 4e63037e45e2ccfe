"""An API server on its own event loop in a background thread, for synchronous tests (hypothesis)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from controller.apiserver.server import ApiServer, start_api_server
from controller.store.memory import MemoryStore


@contextlib.contextmanager
def threaded_api_server() -> Iterator[ApiServer]:
    """Serves a fresh MemoryStore (plaintext, free loopback port) until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="api-server", daemon=True)
    thread.start()
    api = asyncio.run_coroutine_threadsafe(
        start_api_server(MemoryStore(), "127.0.0.1:0", compact_interval=None), loop
    ).result(30)
    try:
        yield api
    finally:

        async def stop() -> None:
            await api.stop(grace=0.1)
            await api.store.close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
