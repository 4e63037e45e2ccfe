"""One QMP session with a running QEMU, through the QEMU project's ``qemu.qmp`` library.

A QMP socket serves one client at a time; when the agent dies its connection drops and a new
agent process connects again: that is how VMs are adopted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from qemu.qmp import QMPClient, QMPError

from agent.drivers.protocol import DriverError

EventHandler = Callable[[str, Mapping[str, Any]], None]
CONNECT_TIMEOUT = 10.0
COMMAND_TIMEOUT = 10.0

# qemu.qmp logs every dropped connection as an error; a VM that quits is normal here.
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)


class MonitorError(DriverError):
    """A QMP command failed or QEMU could not be reached."""


class Monitor:
    def __init__(self, name: str) -> None:
        self._client = QMPClient(name)
        self._pump: asyncio.Task[None] | None = None

    async def connect(self, socket: Path, timeout: float = CONNECT_TIMEOUT) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._client.connect(str(socket))
        except (QMPError, OSError, TimeoutError) as err:
            raise MonitorError(f"cannot reach QMP at {socket}: {err or type(err).__name__}") from None

    async def execute(self, command: str, arguments: Mapping[str, object] | None = None) -> object:
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                return await self._client.execute(command, arguments)
        except (QMPError, OSError, TimeoutError) as err:
            raise MonitorError(f"QMP {command}: {err or type(err).__name__}") from None

    async def status(self) -> str:
        """QEMU's run state: running, paused, shutdown, guest-panicked, internal-error, ..."""
        reply = await self.execute("query-status")
        return str(reply.get("status", "")) if isinstance(reply, dict) else ""

    def on_events(self, handler: EventHandler) -> None:
        """Call ``handler(name, data)`` for every event until ``close``."""

        async def pump() -> None:
            async for event in self._client.events:
                data = event.get("data")
                handler(str(event["event"]), data if isinstance(data, dict) else {})

        self._pump = asyncio.create_task(pump(), name="qmp-events")

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        # The peer may already be gone (QEMU quit): disconnect then re-raises the reader's EOFError.
        with contextlib.suppress(QMPError, OSError, EOFError):
            await self._client.disconnect()
