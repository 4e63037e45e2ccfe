"""``atoll console`` into a real QEMU guest: through the API server to the node agent, the busybox
guest's shell on ttyS0 runs a command and its output comes back; a second viewer sees the same
output and is read-only until the first leaves; ``atoll logs vm/NAME`` shows the same text."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from agent.drivers.session import ProcessSession
from agent.logs_service import start_logs_server
from agent.registration import NodeProfile
from agent.run import start_node
from atoll import sessions
from atoll.client import Client
from atoll.clock import SystemClock
from atoll.v1 import access_pb2, agent_pb2
from tests.e2e import artifacts
from tests.e2e.conftest import QemuFactory
from tests.e2e.test_qemu_agent import BOOT_TIMEOUT, QUICK_RESTARTS, guest, phase_is
from tests.integration.agent_harness import cluster, eventually

NODE = NodeProfile(name="real-1", address="127.0.0.1", cpu="2", memory="8Gi")


async def _until(output: object, wanted: bytes, timeout: float = 60.0) -> bytes:
    """Reads a session (atoll.sessions.SessionStream or a driver's ProcessSession) until ``wanted``."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        assert time.monotonic() < deadline, f"{wanted!r} not seen in {seen[-400:]!r}"
        if isinstance(output, sessions.SessionStream):
            _, data = await asyncio.wait_for(anext(aiter(output.output())), deadline - time.monotonic())
        else:
            assert isinstance(output, ProcessSession)
            chunk = await asyncio.wait_for(output.read(), deadline - time.monotonic())
            assert not chunk.eof, f"the console ended before {wanted!r}: {seen[-400:]!r}"
            data = chunk.data
        seen += data
    return seen


async def test_the_console_of_a_real_vm_runs_a_command_in_the_guests_shell(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path
) -> None:
    agent_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name=NODE.name, address="127.0.0.1", cpu="2", memory="8Gi", endpoint=agent_server.address)
    driver = qemu()
    try:
        async with cluster() as c:
            running = await start_node(c.client, profile, [driver], clock=SystemClock(), config=QUICK_RESTARTS)
            agent_server.serve(running.agent)
            try:
                await c.client.create(guest("box", kernel, initramfs, "atoll.shell", run_strategy="Manual"))
                await eventually(c.client, "vm", "box", phase_is("Running"), timeout=BOOT_TIMEOUT)
                deadline = time.monotonic() + 60
                while artifacts.SHELL_MARKER not in await _log_text(c.client, "box"):
                    assert time.monotonic() < deadline, "the guest's shell never started"
                    await asyncio.sleep(0.5)
                start = access_pb2.SessionStart(capability="console", kind="VirtualMachine", name="box")
                typist = await c.client.open_session(start)
                task_id = next(iter(driver._vms))  # the run's task: a second viewer, at the driver
                viewer = await driver.open_console(task_id)
                await typist.send(b"echo console-$((6 * 7))\n")
                await _until(typist, b"console-42")
                await _until(viewer, b"console-42")
                await viewer.write(b"echo not-typed\n")
                await _until(viewer, b"read-only")
                typist.cancel()
                await asyncio.sleep(0.5)
                await viewer.write(b"uname -s\n")  # the writer left: the viewer types now
                await _until(viewer, b"Linux")
                await viewer.close()
                assert "console-42" in await _log_text(c.client, "box")
            finally:
                await running.close()
    finally:
        await agent_server.stop()


async def _log_text(client: Client, name: str) -> str:
    """What ``atoll logs vm/NAME`` shows now."""
    request = agent_pb2.LogsRequest(kind="VirtualMachine", name=name)
    return "\n".join([line async for lines in client.logs(request) for line in lines])
