"""PodAddressPool (host-local IPAM of a simulated node) and the simulated drivers that use it:
addresses from the node's pod CIDR only, one per workload, released with its last task, reserved
again on adoption, exhaustion and "no range yet" reported, never a malformed address."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from agent.drivers.protocol import Driver, NetworkNotReadyError, StartError, TaskConfig, VmOptions, WindowsOptions
from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.hypervisor import SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.drivers.sim.script import SCRIPT_ANNOTATION
from agent.drivers.sim.windows import SimWindowsDriver
from agent.network.address_pool import AddressesExhaustedError, NoPodCidrError, PodAddressPool
from atoll.clock import ManualClock


def task(uid: str, name: str = "c", kind: str = "container", **extra: object) -> TaskConfig:
    vm = VmOptions(memory=2**30) if kind == "vm" else None
    return TaskConfig(f"{uid}:{name}", kind, "ns", "w", uid, name, image="img", vm=vm,  # type: ignore[arg-type]
                      annotations=((SCRIPT_ANNOTATION, "sleep infinity"),), **extra)  # type: ignore[arg-type]


def test_no_address_before_the_node_has_a_range() -> None:
    pool = PodAddressPool("n1")
    with pytest.raises(NoPodCidrError, match="node n1 has no pod CIDR yet"):
        pool.allocate("u1", "u1:c")


def test_addresses_come_from_the_range_skip_network_gateway_and_broadcast_and_run_out() -> None:
    pool = PodAddressPool("n1")
    pool.set_range("10.244.7.0/29")  # .0 network, .1 gateway, .7 broadcast: .2-.6 usable
    given = [pool.allocate(f"u{index}", f"u{index}:c") for index in range(5)]
    assert given == [f"10.244.7.{host}" for host in range(2, 7)]
    with pytest.raises(AddressesExhaustedError, match=r"all 5 addresses of pod CIDR 10\.244\.7\.0/29"):
        pool.allocate("u9", "u9:c")
    pool.release("u3:c")
    assert pool.allocate("u9", "u9:c") == "10.244.7.5"


def test_containers_of_one_workload_share_its_address_until_the_last_goes() -> None:
    pool = PodAddressPool("n1")
    pool.set_range("10.244.7.0/24")
    first = pool.allocate("pod", "pod:a")
    assert pool.allocate("pod", "pod:b") == first
    pool.release("pod:a")
    assert pool.in_use() == {"pod": first}
    pool.release("pod:b")
    assert pool.in_use() == {}
    other = pool.allocate("other", "other:c")
    assert other != first
    assert pool.allocate("pod", "pod:a") == first, "a restarting container gets its address back"


def test_reserve_rebuilds_after_a_restart_and_refuses_an_address_held_by_another() -> None:
    pool = PodAddressPool("n1")
    pool.set_range("10.244.7.0/24")
    assert pool.reserve("a", "a:c", "10.244.7.2")
    assert not pool.reserve("b", "b:c", "10.244.7.2")
    assert pool.allocate("b", "b:c") == "10.244.7.3"


def drivers(pool: PodAddressPool, clock: ManualClock, state_dir: Path | None = None) -> list[Driver]:
    def settings(name: str) -> SimSettings:
        state = state_dir / f"{name}.json" if state_dir else None
        return SimSettings(host_ip="192.168.5.9", addresses=pool, state_file=state)
    return [SimLinuxDriver(settings("linux"), clock), SimWindowsDriver(settings=settings("windows"), clock=clock),
            SimHypervisorDriver(settings=settings("vm"), clock=clock)]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["linux", "windows", "hypervisor"])
async def test_every_simulated_driver_reports_an_ip_address_inside_the_pod_cidr(index: int) -> None:
    clock = ManualClock()
    pool = PodAddressPool("n1")
    driver = drivers(pool, clock)[index]
    kind = "vm" if index == 2 else "container"
    extra = {"os": "windows", "windows": WindowsOptions(isolation="process")} if index == 1 else {}
    with pytest.raises(NetworkNotReadyError):
        await driver.start(task("early", kind=kind, **extra))
    pool.set_range("10.244.9.0/24")
    for number in range(20):
        await driver.start(task(f"u{number}", kind=kind, **extra))
    addresses = [(await driver.inspect(f"u{number}:{'c'}")).ip for number in range(20)]
    assert len(set(addresses)) == 20
    for address in addresses:
        assert ipaddress.ip_address(address) in ipaddress.ip_network("10.244.9.0/24")
    host = await driver.start(task("host", kind=kind, host_network=True, **extra)) if index == 0 else None
    if host is not None:
        assert (await driver.inspect("host:c")).ip == "192.168.5.9"


async def test_an_adopted_task_keeps_its_address_and_a_destroyed_one_frees_it(tmp_path: Path) -> None:
    clock = ManualClock()
    pool = PodAddressPool("n1")
    pool.set_range("10.244.9.0/24")
    linux = drivers(pool, clock, tmp_path)[0]
    await linux.start(task("kept"))
    kept = (await linux.inspect("kept:c")).ip
    again = PodAddressPool("n1")  # the agent restarts: a new pool, the same range
    again.set_range("10.244.9.0/24")
    restarted = drivers(again, clock, tmp_path)[0]
    (handle,) = await restarted.list_tasks()
    assert await restarted.recover(handle)
    assert (await restarted.inspect("kept:c")).ip == kept
    await restarted.start(task("new"))
    assert (await restarted.inspect("new:c")).ip != kept
    await restarted.stop("kept:c", 0)
    await restarted.destroy("kept:c")
    assert "kept" not in again.in_use()


async def test_exhaustion_is_a_start_error_not_a_bad_address() -> None:
    clock = ManualClock()
    pool = PodAddressPool("n1")
    pool.set_range("10.244.9.0/30")  # one usable address
    linux = drivers(pool, clock)[0]
    await linux.start(task("a"))
    with pytest.raises(StartError, match="all 1 addresses"):
        await linux.start(task("b"))
