"""VirtualMachine run strategies and `atoll vm` power actions end to end (fake agent)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from atoll.cli import vm as vm_verb
from atoll.cli.common import CliError, Streams
from atoll.cli.main import build_parser
from tests.support.controller_cluster import ControlledCluster, controlled_cluster
from tests.support.eventually import eventually
from tests.unit.controllers.builders import make_standalone_vm


async def get_vm(env: ControlledCluster, name: str = "db") -> Any:
    return (await env.client.get("VirtualMachine", name)).virtual_machine


async def power(env: ControlledCluster, action: str, name: str = "db") -> str:
    out = Streams(out=io.StringIO(), err=io.StringIO())
    assert await vm_verb.power(env.client, build_parser().parse_args(["vm", action, name]), out) == 0
    return out.out.getvalue()  # type: ignore[attr-defined, no-any-return]


async def guest_stops(env: ControlledCluster, phase: str) -> Any:
    """The guest shuts down (Stopped) or crashes (Failed), as the agent would report."""
    vm = await get_vm(env)
    vm.status.phase = phase
    return (await env.client.update_status(vm)).virtual_machine


def in_phase(env: ControlledCluster, phase: str, *, run: int = 0) -> Any:
    """The VM in ``phase`` (and at run number ``run``, when given)."""

    async def check() -> Any:
        vm = await get_vm(env)
        assert vm.status.phase == phase, f"phase {vm.status.phase}"
        assert not run or vm.status.current_run.number == run, f"run {vm.status.current_run.number}"
        return vm

    return check


@pytest.mark.parametrize(
    ("strategy", "ending", "restarts"),
    [
        ("Always", "Stopped", True),
        ("Always", "Failed", True),
        ("RerunOnFailure", "Failed", True),
        ("RerunOnFailure", "Stopped", False),
        ("Manual", "Failed", False),
    ],
    ids=[
        "Always restarts after a guest shutdown",
        "Always restarts after a crash",
        "RerunOnFailure restarts after a crash",
        "RerunOnFailure leaves a clean shutdown stopped",
        "Manual leaves a crash stopped",
    ],
)
async def test_run_strategies_decide_whether_an_ended_run_is_followed_by_another(
    strategy: str, ending: str, restarts: bool
) -> None:
    async with controlled_cluster() as env:
        await env.client.create(make_standalone_vm("db", strategy))
        first = await eventually(in_phase(env, "Running", run=1))
        await guest_stops(env, ending)
        if restarts:
            second = await eventually(in_phase(env, "Running", run=2))
            assert second.status.restart_count == 1
            assert second.metadata.uid == first.metadata.uid
            assert second.status.previous_runs[0].phase == ending
        else:
            await eventually(in_phase(env, ending, run=1))
            with pytest.raises(AssertionError):
                await eventually(in_phase(env, "Running"), timeout=0.5)


async def test_power_actions_stop_start_pause_resume_and_restart() -> None:
    async with controlled_cluster() as env:
        await env.client.create(make_standalone_vm("db", "Always"))
        first = await eventually(in_phase(env, "Running", run=1))
        assert await power(env, "stop") == "virtualmachine/db stopped\n"
        halted = await eventually(in_phase(env, "Stopped", run=1))
        assert (halted.spec.run_strategy, halted.spec.power_state) == ("Halted", "Stopped")
        await power(env, "start")
        started = await eventually(in_phase(env, "Running", run=2))
        assert started.spec.run_strategy == "Always"
        await power(env, "pause")
        await eventually(in_phase(env, "Paused", run=2))
        await power(env, "resume")
        await eventually(in_phase(env, "Running", run=2))
        await power(env, "restart")
        restarted = await eventually(in_phase(env, "Running", run=3))
        assert "vm.atoll.dev/action" not in restarted.metadata.annotations
        assert restarted.metadata.uid == first.metadata.uid
        assert [run.number for run in restarted.status.previous_runs] == [2, 1]
        events, _ = await env.client.list_all("Event", field_selector="reason=Restarting")
        assert len(events) == 2


async def test_pausing_a_vm_that_is_not_running_is_refused_in_one_line() -> None:
    async with controlled_cluster(node_count=0) as env:
        await env.client.create(make_standalone_vm("db", "Always"))
        with pytest.raises(CliError, match=r"^cannot pause vm/db: it is Pending, not Running$"):
            await power(env, "pause")
