"""VirtualMachines at the agent on a simulated hypervisor: boot, run strategies after guest crashes
and shutdowns, pause/resume and stop through powerState, refusals, deletion."""

from __future__ import annotations

from typing import Any

import pytest

from agent.drivers.protocol import TaskConfig, TaskHandle
from agent.drivers.sim.hypervisor import HypervisorProfile, SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.registration import NodeProfile
from atoll import kinds
from atoll.cli.modify import modify
from atoll.cli.vm import change_for
from atoll.client import Client
from atoll.clock import ManualClock
from atoll.v1 import api_pb2
from tests.integration.agent_harness import bound_vm, cluster, eventually, node

KVM = NodeProfile(name="kvm1", cpu="16", memory="64Gi")
BOOT = 2.0


def hypervisor(clock: ManualClock, kind: str = "type1") -> SimHypervisorDriver:
    return SimHypervisorDriver(HypervisorProfile(type=kind, boot_seconds=BOOT), clock=clock)


def phase_is(phase: str) -> Any:
    return lambda vm: vm is not None and vm.status.phase == phase


async def set_spec(client: Client, name: str, **spec: Any) -> None:
    """Set the VM's spec fields, on a fresh read again when the agent wrote in between."""

    def change(vm: Any) -> None:
        for key, value in spec.items():
            setattr(vm.spec, key, value)

    await modify(client, kinds.by_name("VirtualMachine"), "default", name, change)


async def test_a_vm_starts_boots_and_runs_and_the_node_reports_its_hypervisor() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, KVM, [hypervisor(clock)], clock):
        stored = (await c.client.get("node", "kvm1")).node
        assert (stored.status.hypervisor.type, stored.status.hypervisor.name) == ("type1", "kvm")
        assert stored.status.hypervisor.per_vm_overhead_memory == "64Mi"
        await c.client.create(bound_vm("db", "kvm1"))
        starting = await eventually(c.client, "vm", "db", phase_is("Starting"))
        assert not starting.status.guest_booted
        clock.advance(BOOT)
        running = await eventually(c.client, "vm", "db", phase_is("Running"))
        assert running.status.guest_booted and running.status.power_state == "Running"
        assert running.status.hypervisor == "sim-type1"
        assert {c.type: c.status for c in running.status.conditions}["Ready"] == "True"


@pytest.mark.parametrize(
    ("strategy", "script", "phase", "restarts"),
    [
        pytest.param("Always", "sleep 5; crash", "Starting", 1, id="Always restarts a crashed guest"),
        pytest.param("Always", "sleep 5; poweroff", "Starting", 1, id="Always restarts a guest that shut down"),
        pytest.param("RerunOnFailure", "sleep 5; crash", "Starting", 1, id="RerunOnFailure restarts a crash"),
        pytest.param("RerunOnFailure", "sleep 5; poweroff", "Stopped", 0,
                     id="RerunOnFailure leaves a clean shutdown stopped"),
        pytest.param("Manual", "sleep 5; crash", "Failed", 0, id="Manual leaves a crashed guest failed"),
    ],
)
async def test_run_strategy_decides_what_follows_the_guest_ending(
    strategy: str, script: str, phase: str, restarts: int
) -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, KVM, [hypervisor(clock)], clock):
        await c.client.create(bound_vm("app", "kvm1", script, run_strategy=strategy))
        await eventually(c.client, "vm", "app", phase_is("Starting"))
        clock.advance(BOOT)
        await eventually(c.client, "vm", "app", phase_is("Running"))
        clock.advance(5)
        after = await eventually(c.client, "vm", "app",
                                 lambda vm: vm.status.restart_count == restarts and vm.status.phase == phase)
        assert after.status.power_state == ("Running" if phase == "Starting" else "Stopped")


async def test_power_state_pauses_resumes_and_stops_the_vm() -> None:
    clock = ManualClock()
    driver = hypervisor(clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock):
        await c.client.create(bound_vm("vm", "kvm1", run_strategy="Manual"))
        await eventually(c.client, "vm", "vm", phase_is("Starting"))
        clock.advance(BOOT)
        await eventually(c.client, "vm", "vm", phase_is("Running"))
        await set_spec(c.client, "vm", power_state="Paused")
        paused = await eventually(c.client, "vm", "vm", phase_is("Paused"))
        assert paused.status.power_state == "Paused"
        await set_spec(c.client, "vm", power_state="Running")
        await eventually(c.client, "vm", "vm", phase_is("Running"))
        await set_spec(c.client, "vm", power_state="Stopped")
        stopped = await eventually(c.client, "vm", "vm", phase_is("Stopped"))
        assert stopped.status.power_state == "Stopped" and not stopped.status.guest_booted
        assert await driver.list_tasks() == []


@pytest.mark.parametrize(
    ("drivers", "requirement", "reason"),
    [
        pytest.param("type1", "type2", "HypervisorTypeMismatch", id="a type2 VM on a type1 node fails"),
        pytest.param("none", "any", "NoHypervisor", id="a VM on a node without a hypervisor fails"),
    ],
)
async def test_a_vm_the_node_cannot_run_fails_with_the_reason(drivers: str, requirement: str, reason: str) -> None:
    clock = ManualClock()
    driver = hypervisor(clock) if drivers == "type1" else SimLinuxDriver(clock=clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock):
        vm = bound_vm("odd", "kvm1")
        vm.virtual_machine.spec.hypervisor.type = requirement
        await c.client.create(vm)
        failed = await eventually(c.client, "vm", "odd", phase_is("Failed"))
        assert failed.status.reason == reason


async def test_deleting_a_vm_powers_it_off_and_it_disappears() -> None:
    clock = ManualClock()
    driver = hypervisor(clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock):
        await c.client.create(bound_vm("tmp", "kvm1"))
        await eventually(c.client, "vm", "tmp", phase_is("Starting"))
        clock.advance(BOOT)
        await eventually(c.client, "vm", "tmp", phase_is("Running"))
        await c.client.delete("vm", "tmp")
        await eventually(c.client, "vm", "tmp", lambda vm: vm is None)
        assert await driver.list_tasks() == []


async def test_a_guest_booted_again_here_is_the_next_run_under_its_own_task() -> None:
    clock = ManualClock()
    driver = hypervisor(clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock):
        await c.client.create(bound_vm("app", "kvm1", "sleep 5; crash", run_strategy="Always"))
        first = await eventually(c.client, "vm", "app", phase_is("Starting"))
        assert (first.status.current_run.number, first.status.current_run.node) == (1, "kvm1")
        assert [task.task_id for task in await driver.list_tasks()] == [f"{first.metadata.uid}:vm-run1"]
        clock.advance(BOOT + 5)
        second = await eventually(c.client, "vm", "app", lambda vm: vm.status.current_run.number == 2
                                  and vm.status.current_run.HasField("start_time"))  # no back-off the first time
        assert [task.task_id for task in await driver.list_tasks()] == [f"{first.metadata.uid}:vm-run2"]
        crashed = second.status.previous_runs[0]
        assert (crashed.number, crashed.node, crashed.phase, crashed.reason) == (1, "kvm1", "Failed", "GuestCrashed")
        assert crashed.exit_code == 1 and crashed.HasField("start_time") and crashed.HasField("end_time")
        assert crashed.hypervisor == "sim-type1"
        assert second.metadata.uid == first.metadata.uid


async def test_a_vm_unbound_and_bound_here_again_gets_a_new_runner_for_its_next_run() -> None:
    """What a restart does when the scheduler picks the same node: the runner of run 1 stops its
    guest and finishes, then run 2 starts under its own task; run 1's record is the API server's."""
    clock = ManualClock()
    driver = hypervisor(clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock):
        await c.client.create(bound_vm("app", "kvm1", run_strategy="Manual"))
        await eventually(c.client, "vm", "app", phase_is("Starting"))
        clock.advance(BOOT)
        running = await eventually(c.client, "vm", "app", phase_is("Running"))
        await modify(c.client, kinds.by_name("VirtualMachine"), "default", "app", change_for("restart", "app"))
        stopped = await eventually(c.client, "vm", "app", phase_is("Stopped"))
        assert stopped.status.current_run.HasField("end_time")
        del stopped.metadata.annotations["vm.atoll.dev/action"]
        stopped.spec.node_name = ""  # what the VirtualMachine controller writes
        unbound = (await c.client.update(stopped)).virtual_machine
        assert (unbound.status.phase, unbound.status.current_run.number) == ("Pending", 2)
        await c.client.bind([api_pb2.Binding(kind="VirtualMachine", namespace="default", name="app", node_name="kvm1")])
        await eventually(c.client, "vm", "app", lambda vm: vm.status.current_run.HasField("start_time")
                         and vm.status.current_run.number == 2)
        clock.advance(BOOT)
        again = await eventually(c.client, "vm", "app", phase_is("Running"))
        assert again.metadata.uid == running.metadata.uid
        assert [run.number for run in again.status.previous_runs] == [1]
        assert [task.task_id for task in await driver.list_tasks()] == [f"{running.metadata.uid}:vm-run2"]


async def test_the_stored_status_names_each_run_before_its_task_starts() -> None:
    """So an agent killed between the two finds the run it started under the name it started it."""
    clock = ManualClock()
    driver = hypervisor(clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock):
        started: list[tuple[str, int]] = []
        start = driver.start

        async def recording_start(config: TaskConfig) -> TaskHandle:
            stored = (await c.client.get("vm", "app")).virtual_machine
            started.append((config.name, stored.status.current_run.number))
            return await start(config)

        driver.start = recording_start  # type: ignore[method-assign]
        await c.client.create(bound_vm("app", "kvm1", "sleep 1; crash", run_strategy="Always"))
        await eventually(c.client, "vm", "app", phase_is("Starting"))
        clock.advance(BOOT + 1)
        await eventually(c.client, "vm", "app", lambda vm: vm.status.current_run.HasField("start_time")
                         and vm.status.current_run.number == 2)
        assert started == [("vm-run1", 1), ("vm-run2", 2)]


async def test_a_run_that_ended_here_is_never_booted_again_by_the_agent() -> None:
    """Even when its spec asks for Running again: the next run is the VirtualMachine controller's
    (a new placement), so the agent and the controller never both begin one."""
    clock = ManualClock()
    driver = hypervisor(clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock):
        await c.client.create(bound_vm("app", "kvm1", run_strategy="Manual"))
        await eventually(c.client, "vm", "app", phase_is("Starting"))
        clock.advance(BOOT)
        await eventually(c.client, "vm", "app", phase_is("Running"))
        await set_spec(c.client, "app", power_state="Stopped")
        await eventually(c.client, "vm", "app", phase_is("Stopped"))
        await set_spec(c.client, "app", power_state="Running", run_strategy="Always")
        clock.advance(60)
        with pytest.raises(AssertionError):
            await eventually(c.client, "vm", "app", lambda vm: not phase_is("Stopped")(vm), timeout=1.0)
        assert await driver.list_tasks() == []
        assert (await c.client.get("vm", "app")).virtual_machine.status.current_run.number == 1
