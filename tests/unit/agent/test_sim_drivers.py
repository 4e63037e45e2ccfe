"""Behaviour particular to each simulated runtime (the shared contract is in tests/conformance)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.drivers.protocol import CannotRunError, Resources, TaskConfig, TaskPhase, VmOptions, WindowsOptions
from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.hypervisor import HypervisorProfile, SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.drivers.sim.script import SCRIPT_ANNOTATION
from agent.drivers.sim.windows import SimWindowsDriver, WindowsHost
from agent.drivers.sim.windows_builds import OS_MISMATCH, mismatch
from atoll.clock import ManualClock


def container(script: str = "", limit: int = 0, os: str = "linux", windows: WindowsOptions | None = None,
              image: str = "img") -> TaskConfig:
    return TaskConfig("u:c", "container", "ns", "w", "u", "c", image=image, os=os, windows=windows,
                      resources=Resources(memory_limit=limit), annotations=((SCRIPT_ANNOTATION, script),))


def vm(script: str = "") -> TaskConfig:
    return TaskConfig("u:vm", "vm", "ns", "w", "u", "vm", vm=VmOptions(memory=2**30),
                      annotations=((SCRIPT_ANNOTATION, script),))


async def test_linux_kills_a_container_over_its_memory_limit() -> None:
    clock = ManualClock()
    driver = SimLinuxDriver(clock=clock)
    await driver.start(container("sleep 1; alloc 200Mi; sleep infinity", limit=100 * 2**20))
    clock.advance(1)
    result = await driver.wait("u:c")
    assert (result.exit_code, result.reason, result.signal) == (137, "OOMKilled", 9)


@pytest.mark.parametrize(
    ("host", "image", "isolation", "allowed"),
    [
        ("10.0.20348", "10.0.20348", "process", True),
        ("10.0.20348", "10.0.17763", "process", False),
        ("10.0.26100", "10.0.20348", "process", True),
        ("10.0.22621", "10.0.20348", "process", True),
        ("10.0.14393.100", "10.0.14393.200", "process", False),
        ("10.0.17763.100", "10.0.17763.200", "process", True),
        ("10.0.20348", "10.0.17763", "hyperv", True),
        ("10.0.17763", "10.0.20348", "hyperv", False),
        ("10.0.17763", "10.0.26100", "hostprocess", True),
    ],
    ids=[
        "process: same build runs", "process: 2019 image on 2022 host fails",
        "process: 2022 image on 2025 host runs", "process: 2022 image on Windows 11 runs",
        "process: 2016 needs the same revision", "process: 2019 and later ignore the revision",
        "hyperv: older image runs", "hyperv: newer image fails", "hostprocess: no build rule",
    ],
)
def test_windows_build_rules(host: str, image: str, isolation: str, allowed: bool) -> None:
    assert (mismatch(host, image, isolation) == "") is allowed


async def test_windows_mismatch_uses_microsofts_text_and_image_tags_name_builds() -> None:
    driver = SimWindowsDriver(WindowsHost(os_build="10.0.20348"), clock=ManualClock())
    with pytest.raises(CannotRunError) as err:
        await driver.start(container(os="windows", windows=WindowsOptions("process"),
                                     image="mcr.microsoft.com/windows/servercore:ltsc2019"))
    assert str(err.value).startswith(OS_MISMATCH)


async def test_type2_boots_slower_and_costs_more_memory_than_type1() -> None:
    clock = ManualClock()
    type1 = SimHypervisorDriver(HypervisorProfile(type="type1", boot_seconds=2), clock=clock)
    type2 = SimHypervisorDriver(HypervisorProfile(type="type2", boot_seconds=2), clock=clock)
    await type1.start(vm())
    await type2.start(vm())
    clock.advance(2)
    assert (await type1.inspect("u:vm")).phase is TaskPhase.RUNNING
    assert (await type2.inspect("u:vm")).phase is TaskPhase.BOOTING
    assert (await type2.inspect("u:vm")).memory_used > (await type1.inspect("u:vm")).memory_used
    clock.advance(2)
    assert (await type2.inspect("u:vm")).guest_booted


@pytest.mark.parametrize(
    ("script", "reason", "code"),
    [("sleep 3; crash", "GuestCrashed", 1), ("sleep 3; poweroff", "GuestShutdown", 0)],
    ids=["an injected crash ends the VM as GuestCrashed", "a guest poweroff ends it cleanly"],
)
async def test_guest_crash_and_shutdown(script: str, reason: str, code: int) -> None:
    clock = ManualClock()
    driver = SimHypervisorDriver(HypervisorProfile(boot_seconds=1), clock=clock)
    await driver.start(vm(script))
    clock.advance(4)
    result = await asyncio.wait_for(driver.wait("u:vm"), 1)
    assert (result.reason, result.exit_code) == (reason, code)


async def test_reboot_boots_again_and_keeps_the_task() -> None:
    clock = ManualClock()
    driver = SimHypervisorDriver(HypervisorProfile(boot_seconds=1), clock=clock)
    await driver.start(vm())
    clock.advance(1)
    await driver.reboot("u:vm")
    assert (await driver.inspect("u:vm")).phase is TaskPhase.BOOTING
    clock.advance(1)
    assert (await driver.inspect("u:vm")).phase is TaskPhase.RUNNING


async def test_a_new_driver_on_the_same_state_file_fast_forwards_its_tasks(tmp_path: Path) -> None:
    settings = SimSettings(state_file=tmp_path / "tasks.json")
    first = SimLinuxDriver(settings, ManualClock())
    await first.start(container("sleep 10; exit 7"))
    later = ManualClock()
    later.advance(30)  # the first agent died at once; the task ended at t+10 with nobody watching
    second = SimLinuxDriver(settings, later)
    [handle] = await second.list_tasks()
    assert await second.recover(handle)
    status = await second.inspect("u:c")
    assert status.exit is not None and status.exit.exit_code == 7
    assert status.exit.finished_at == pytest.approx(handle.started_at + 10)
