"""The benchmarks' child supervisor: a dead child ends the awaited work at once, with its exit
status and last lines; children stopped on purpose are no failure."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.bench.supervisor import ChildDied, Supervisor


async def test_a_child_that_exits_interrupts_the_work_with_its_status_and_last_lines() -> None:
    with Supervisor() as children:
        children.start("crasher", [sys.executable, "-c", "print('loading'); print('bad config'); raise SystemExit(3)"])
        with pytest.raises(ChildDied) as died:
            await children.guard(asyncio.sleep(60))
    assert str(died.value).startswith("crasher (pid ")
    assert str(died.value).endswith("exited with status 3")
    assert died.value.report().splitlines()[-2:] == ["  | loading", "  | bad config"]


async def test_a_child_stopped_on_purpose_is_no_failure() -> None:
    with Supervisor() as children:
        sleeper = children.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
        children.stop(sleeper)
        assert await children.guard(asyncio.sleep(0.3, result="done")) == "done"
        assert sleeper.process.returncode is not None
