"""What e2e tests of interactive sessions share: the ``atoll`` command on a pseudo-terminal a test
drives (Python's ``pty``: what a user at a terminal types and sees, for ``exec -it`` and
``attach -it``), an API server with one real node serving sessions, and waits on a driver's task
and a driver's session."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import struct
import subprocess
import termios
import time
from collections.abc import AsyncIterator
from typing import Any

from agent.config import AgentConfig
from agent.drivers.oci import OciDriver
from agent.drivers.protocol import TaskPhase
from agent.drivers.session import ProcessSession
from agent.logs_service import start_logs_server
from agent.registration import NodeProfile
from agent.run import start_node
from atoll.clock import SystemClock
from tests.e2e.conftest import OciFactory
from tests.integration.agent_harness import cluster

NODE = NodeProfile(name="real-1", address="127.0.0.1", cpu="2", memory="8Gi")


@contextlib.asynccontextmanager
async def real_node(oci: OciFactory) -> AsyncIterator[tuple[str, Any]]:
    """An API server (plaintext) and node real-1 running runc, serving sessions; yields the API
    server's address and its client."""
    agent_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name=NODE.name, address="127.0.0.1", cpu="2", memory="8Gi", endpoint=agent_server.address)
    try:
        async with cluster() as c:
            running = await start_node(c.client, profile, [oci()], clock=SystemClock(), config=AgentConfig())
            agent_server.serve(running.agent)
            try:
                yield c.api.address, c.client
            finally:
                await running.close()
    finally:
        await agent_server.stop()


async def running(driver: OciDriver, task_id: str) -> None:
    """Wait (at most 10 s) until the started task runs."""
    for _ in range(200):
        if (await driver.inspect(task_id)).phase is TaskPhase.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{task_id} did not run")


async def read_until(session: ProcessSession, wanted: bytes) -> bytes:
    """The session's output up to and including ``wanted`` (each read at most 20 s)."""
    seen = b""
    while wanted not in seen:
        chunk = await asyncio.wait_for(session.read(), 20)
        assert not chunk.eof, f"ended before {wanted!r}; seen {seen!r}"
        seen += chunk.data
    return seen


class Terminal:
    """The ``atoll`` command on a pseudo-terminal of its own (its controlling terminal)."""

    def __init__(self, argv: list[str], rows: int, cols: int) -> None:
        self.master, slave = pty.openpty()
        self.resize(rows, cols)

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                        preexec_fn=controlling_terminal)
        os.close(slave)
        os.set_blocking(self.master, False)
        self.seen = b""

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    async def expect(self, wanted: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while wanted not in self.seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"{wanted!r} not seen; the terminal shows {self.seen[-500:]!r}")
            with contextlib.suppress(BlockingIOError, OSError):
                self.seen += os.read(self.master, 4096)
            await asyncio.sleep(0.02)

    async def sized_resized_and_interrupted(self) -> None:
        """On a shell started at 30x90: ``stty size`` says so, a resize to 44x132 follows, Ctrl-C
        interrupts the remote ``sleep`` (not atoll) and the shell answers again."""
        self.type(b"stty size\r")
        await self.expect(b"30 90")
        self.resize(44, 132)
        await asyncio.sleep(0.5)
        self.type(b"stty size\r")
        await self.expect(b"44 132")
        self.type(b"sleep 300\r")
        await asyncio.sleep(0.5)
        self.type(b"\x03")
        await self.expect(b"^C")
        self.type(b"echo still-$((40 + 2))\r")  # the shell's answer, not the echo of the line typed
        await self.expect(b"still-42")

    async def exit_code(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            with contextlib.suppress(BlockingIOError, OSError):
                self.seen += os.read(self.master, 4096)
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"atoll did not end; the terminal shows {self.seen[-500:]!r}")
            await asyncio.sleep(0.05)
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
