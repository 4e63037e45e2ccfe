"""After an agent process dies (SIGKILL), a new one adopts its containers: running ones keep
running and are managed again; ones that ended meanwhile report how they ended."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from agent.drivers.protocol import TaskPhase
from tests.e2e.children import start_then_crash
from tests.e2e.conftest import OciFactory


async def test_a_running_container_is_adopted_after_an_agent_crash_and_can_be_stopped(
    oci: OciFactory, tmp_path: Path, image_dir: Path
) -> None:
    trap = "trap 'echo bye; exit 0' TERM; echo hello; while true; do sleep 0.05; done"
    await start_then_crash("oci", str(tmp_path / "oci"), str(image_dir), "u1:main", "sh", "-c", trap)
    await asyncio.sleep(0.3)  # the container outlives its agent
    driver = oci()
    assert [container["id"] for container in await driver.runtime.containers()] == ["u1.main"]
    handles = await driver.list_tasks()
    assert [handle.task_id for handle in handles] == ["u1:main"]
    changed: list[str] = []
    driver.set_listener(changed.append)
    assert await driver.recover(handles[0])
    assert changed == ["u1:main"]
    assert (await driver.inspect("u1:main")).phase is TaskPhase.RUNNING
    result = await driver.stop("u1:main", timeout=10)
    assert (result.exit_code, result.reason) == (0, "Completed")
    assert [line.text async for line in driver.logs("u1:main")] == ["hello", "bye"]


async def test_a_container_that_ended_while_no_agent_ran_is_adopted_with_its_exit(
    oci: OciFactory, tmp_path: Path, image_dir: Path
) -> None:
    await start_then_crash("oci", str(tmp_path / "oci"), str(image_dir), "u1:main", "sh", "-c", "sleep 0.5; exit 4")
    exit_file = tmp_path / "oci" / "tasks" / "u1.main" / "exit.json"
    deadline = time.monotonic() + 10
    while not exit_file.exists():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    driver = oci()
    (handle,) = await driver.list_tasks()
    assert await driver.recover(handle)
    status = await driver.inspect("u1:main")
    assert status.phase is TaskPhase.EXITED
    assert status.exit is not None
    assert (status.exit.exit_code, status.exit.reason) == (4, "Error")
    assert (await driver.wait("u1:main")).exit_code == 4
