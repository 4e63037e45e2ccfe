"""The one Driver contract suite: every driver (simulated runtimes and the fake) passes it.

A real driver (oci, qemu) joins by adding a DriverCase whose ``build`` calls
tests.support.system.require_binary (a skip here, a failure under CI=true).
Time is a ManualClock: start latencies and grace periods pass without sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from agent.drivers.abilities import LogReader, Pausable
from agent.drivers.fake import FakeDriver
from agent.drivers.protocol import (
    Driver,
    TaskConfig,
    TaskExistsError,
    TaskNotFoundError,
    TaskPhase,
    TaskRunningError,
    VmOptions,
    WindowsOptions,
)
from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.hypervisor import SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.drivers.sim.script import SCRIPT_ANNOTATION
from agent.drivers.sim.windows import SimWindowsDriver
from atoll.clock import ManualClock

SETTLE = 60.0  # seconds of virtual time after which every driver's task is up (latency + boot)


@dataclass(frozen=True)
class DriverCase:
    build: Callable[[ManualClock], Driver]
    config: Callable[[str, str], TaskConfig]  # (task_id, script) -> a config this driver runs
    scripted: bool = True  # runs sim scripts (exit N, ignore-term); the fake is driven by hand


def _container(task_id: str, script: str, os: str = "linux", windows: WindowsOptions | None = None) -> TaskConfig:
    return TaskConfig(
        task_id=task_id, kind="container", namespace="default", workload="w", workload_uid=task_id.split(":")[0],
        name="main", image="busybox", os=os, windows=windows, annotations=((SCRIPT_ANNOTATION, script),),
    )


def _windows(task_id: str, script: str) -> TaskConfig:
    return _container(task_id, script, "windows", WindowsOptions("process", "10.0.20348"))


def _vm(task_id: str, script: str) -> TaskConfig:
    return TaskConfig(
        task_id=task_id, kind="vm", namespace="default", workload="w", workload_uid=task_id.split(":")[0],
        name="vm", vm=VmOptions(vcpus=1, memory=512 * 2**20, kernel="/k"), annotations=((SCRIPT_ANNOTATION, script),),
    )


SLOW = SimSettings(start_latency=0.5, term_seconds=1.0)
CASES = [
    pytest.param(DriverCase(lambda c: SimLinuxDriver(SLOW, c), _container), id="sim-linux"),
    pytest.param(DriverCase(lambda c: SimWindowsDriver(None, SLOW, c), _windows), id="sim-windows"),
    pytest.param(DriverCase(lambda c: SimHypervisorDriver(None, SLOW, c), _vm), id="sim-hypervisor"),
    pytest.param(DriverCase(lambda c: FakeDriver(clock=c), _container, scripted=False), id="fake"),
]


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> DriverCase:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def _started(case: DriverCase, clock: ManualClock, script: str = "", task_id: str = "u1:main") -> Driver:
    driver = case.build(clock)
    await driver.start(case.config(task_id, script))
    clock.advance(SETTLE)
    return driver


async def _exit_by_itself(case: DriverCase, driver: Driver, clock: ManualClock, task_id: str, code: int) -> None:
    if isinstance(driver, FakeDriver):
        driver.finish(task_id, code)
    else:
        clock.advance(SETTLE)


async def test_a_started_task_is_running_once_it_is_up(case: DriverCase, clock: ManualClock) -> None:
    driver = await _started(case, clock)
    status = await driver.inspect("u1:main")
    assert status.phase is TaskPhase.RUNNING
    assert status.exit is None
    assert status.started_at == pytest.approx(clock.now() - SETTLE)


async def test_starting_an_id_that_is_not_destroyed_is_refused(case: DriverCase, clock: ManualClock) -> None:
    driver = await _started(case, clock)
    with pytest.raises(TaskExistsError):
        await driver.start(case.config("u1:main", ""))


async def test_a_task_that_exits_by_itself_reports_its_code_to_wait_and_the_listener(
    case: DriverCase, clock: ManualClock
) -> None:
    driver = case.build(clock)
    notified: list[str] = []
    driver.set_listener(notified.append)
    await driver.start(case.config("u1:main", "sleep 5; exit 3"))
    waiter = asyncio.ensure_future(driver.wait("u1:main"))
    await asyncio.sleep(0)
    assert not waiter.done()
    await _exit_by_itself(case, driver, clock, "u1:main", 3)
    result = await asyncio.wait_for(waiter, 1)
    assert result.exit_code == 3
    assert result.reason == "Error"
    assert "u1:main" in notified
    assert (await driver.inspect("u1:main")).phase is TaskPhase.EXITED


async def test_stop_ends_a_running_task_and_is_idempotent(case: DriverCase, clock: ManualClock) -> None:
    driver = await _started(case, clock)
    stopping = asyncio.ensure_future(driver.stop("u1:main", timeout=30))
    await asyncio.sleep(0)
    clock.advance(SETTLE)
    first = await asyncio.wait_for(stopping, 1)
    again = await driver.stop("u1:main", timeout=30)
    assert again == first
    assert (await driver.inspect("u1:main")).exit == first


async def test_stop_kills_a_task_that_ignores_the_graceful_signal_after_the_timeout(
    case: DriverCase, clock: ManualClock
) -> None:
    driver = case.build(clock) if case.scripted else FakeDriver(clock=clock, ignore_stop=True)
    await driver.start(case.config("u1:main", "ignore-term; sleep infinity"))
    clock.advance(SETTLE)
    stopping = asyncio.ensure_future(driver.stop("u1:main", timeout=10))
    await asyncio.sleep(0)
    clock.advance(9)
    await asyncio.sleep(0)
    assert not stopping.done(), "killed before the grace period ended"
    clock.advance(2)
    result = await asyncio.wait_for(stopping, 1)
    assert result.signal == 9
    assert result.finished_at == pytest.approx(clock.now() - 1)


async def test_destroy_refuses_a_running_task_without_force_and_forgets_it_with_force(
    case: DriverCase, clock: ManualClock
) -> None:
    driver = await _started(case, clock)
    with pytest.raises(TaskRunningError):
        await driver.destroy("u1:main")
    await driver.destroy("u1:main", force=True)
    with pytest.raises(TaskNotFoundError):
        await driver.inspect("u1:main")
    await driver.destroy("u1:main")  # unknown: a no-op


async def test_a_destroyed_id_can_be_started_again(case: DriverCase, clock: ManualClock) -> None:
    driver = await _started(case, clock)
    await driver.stop("u1:main", timeout=0)
    await driver.destroy("u1:main")
    await driver.start(case.config("u1:main", ""))
    clock.advance(SETTLE)
    assert (await driver.inspect("u1:main")).phase is TaskPhase.RUNNING


async def test_unknown_ids_raise_task_not_found(case: DriverCase, clock: ManualClock) -> None:
    driver = case.build(clock)
    with pytest.raises(TaskNotFoundError):
        await driver.inspect("nope:main")
    with pytest.raises(TaskNotFoundError):
        await driver.stop("nope:main", timeout=1)
    with pytest.raises(TaskNotFoundError):
        await driver.wait("nope:main")


async def test_list_tasks_names_every_task_and_recover_knows_only_those(case: DriverCase, clock: ManualClock) -> None:
    driver = await _started(case, clock)
    await driver.start(case.config("u2:main", ""))
    handles = {handle.task_id: handle for handle in await driver.list_tasks()}
    assert set(handles) == {"u1:main", "u2:main"}
    assert all(handle.driver == driver.name for handle in handles.values())
    assert await driver.recover(handles["u1:main"])
    gone = type(handles["u1:main"])("u9:main", driver.name, 0.0)
    assert not await driver.recover(gone)
    assert driver.count("start") == 2 if isinstance(driver, FakeDriver) else True


async def test_capabilities_and_fingerprint_describe_a_healthy_driver(case: DriverCase, clock: ManualClock) -> None:
    driver = case.build(clock)
    assert driver.capabilities().kinds
    assert (await driver.fingerprint()).healthy
    assert isinstance(driver, Driver)


async def test_optional_abilities_work_where_a_driver_declares_them(case: DriverCase, clock: ManualClock) -> None:
    driver = await _started(case, clock, "echo hello; sleep infinity")
    if isinstance(driver, LogReader):
        lines = [line.text async for line in driver.logs("u1:main")]
        assert "hello" in lines
    if isinstance(driver, Pausable):
        await driver.pause("u1:main")
        assert (await driver.inspect("u1:main")).phase is TaskPhase.PAUSED
        await driver.resume("u1:main")
        assert (await driver.inspect("u1:main")).phase is TaskPhase.RUNNING
