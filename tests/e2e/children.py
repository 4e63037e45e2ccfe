"""Running tests/e2e/agent_child.py as a separate agent process and killing it like a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e.conftest import CGROUP_PARENT_ENV, cgroup_parent_of_this_process

REPO = Path(__file__).resolve().parents[2]


async def start_then_crash(*argv: str, timeout: float = 60) -> None:
    """Run an agent child that starts one task; SIGKILL it once the task is started."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.e2e.agent_child", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), CGROUP_PARENT_ENV: cgroup_parent_of_this_process()},
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout)
        if line.strip() != b"started":
            errors = await process.stderr.read()
            raise AssertionError(f"the agent child did not start its task: {errors.decode()[-2000:]}")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await process.wait()
