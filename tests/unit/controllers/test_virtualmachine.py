"""The VirtualMachine controller: run strategies, power actions and new runs of the same object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from atoll import finalizers
from atoll.annotations import VM_ACTION_ANNOTATION, VM_EVICT_ANNOTATION
from atoll.clock import ManualClock
from atoll.v1 import api_pb2, virtualmachine_pb2
from controller.controllers.virtualmachine.reconciler import VirtualMachineController, restart_reason
from controller.runtime.reconciler_runner import drain
from tests.support.fake_api import FakeApi
from tests.unit.controllers.builders import make_standalone_vm, node


@pytest.mark.parametrize(
    ("strategy", "phase", "reason", "power", "action", "replaced"),
    [
        ("Always", "Running", "", "Running", "", False),
        ("Always", "Stopped", "", "Running", "", True),
        ("Always", "Failed", "NodeLost", "Running", "", True),
        ("Always", "Stopped", "", "Stopped", "", False),
        ("RerunOnFailure", "Failed", "", "Running", "", True),
        ("RerunOnFailure", "Stopped", "", "Running", "", False),
        ("Manual", "Failed", "", "Running", "", False),
        ("Manual", "Stopped", "", "Running", "start", True),
        ("Manual", "Running", "", "Running", "start", False),
        ("Manual", "Running", "", "Running", "restart", True),
        ("Halted", "Stopped", "", "Stopped", "restart", False),
        ("Halted", "Failed", "", "Running", "", False),
    ],
    ids=[
        "Always leaves a running vm alone",
        "Always replaces a vm whose guest shut down",
        "Always replaces a vm whose node was lost",
        "Always keeps a vm stopped whose power state is Stopped",
        "RerunOnFailure replaces a failed vm",
        "RerunOnFailure keeps a cleanly stopped vm stopped",
        "Manual never replaces on its own",
        "Manual replaces a stopped vm on start",
        "Manual ignores start on a running vm",
        "restart replaces a running vm",
        "Halted ignores restart",
        "Halted never replaces",
    ],
)
def test_restart_reason_follows_the_run_strategy(
    strategy: str, phase: str, reason: str, power: str, action: str, replaced: bool
) -> None:
    vm = make_standalone_vm(run_strategy=strategy)
    vm.status.phase, vm.status.reason, vm.spec.power_state = phase, reason, power
    if action:
        vm.metadata.annotations[VM_ACTION_ANNOTATION] = action
    assert (restart_reason(vm) is not None) == replaced


@dataclass
class Harness:
    api: FakeApi
    controller: VirtualMachineController

    async def vm(self, name: str = "db") -> Any:
        return (await self.api.get("VirtualMachine", name)).virtual_machine

    async def bind_and_report(self, phase: str, name: str = "db", node_name: str = "n1") -> Any:
        vm = await self.vm(name)
        if not vm.spec.node_name:
            binding = api_pb2.Binding(kind="VirtualMachine", namespace="default", name=name, node_name=node_name)
            await self.api.bind([binding])
            vm = await self.vm(name)
        vm.status.phase = phase
        await self.api.update_status(vm)
        return vm

    async def request(self, action: str, name: str = "db") -> None:
        """What `atoll vm start|restart` writes."""
        vm = await self.vm(name)
        vm.metadata.annotations[VM_ACTION_ANNOTATION] = action
        await self.api.update(vm)

    async def events(self) -> list[Any]:
        items, _ = await self.api.list_all("Event")
        return [item.event for item in items]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = ManualClock()
    api = await FakeApi(clock).setup()
    await api.create(node("n1"))
    controller = VirtualMachineController(api, api.informer(virtualmachine_pb2.VirtualMachine), clock)
    await api.sync_informers()
    yield Harness(api, controller)
    await controller.queue.shutdown()


def assert_next_run_of(after: Any, before: Any, *, number: int, from_node: str = "n1") -> None:
    """``after`` is ``before``'s object, unbound, at run ``number`` with the ended run archived."""
    assert after.metadata.uid == before.metadata.uid
    assert after.metadata.creation_timestamp == before.metadata.creation_timestamp
    assert list(after.metadata.owner_references) == list(before.metadata.owner_references)
    assert after.spec.node_name == ""
    assert finalizers.NODE_AGENT not in after.metadata.finalizers
    assert (after.status.phase, after.status.current_run.number) == ("Pending", number)
    assert after.status.restart_count == number - 1
    ended = after.status.previous_runs[0]
    assert (ended.number, ended.node) == (number - 1, from_node)


async def test_a_stopped_always_vm_is_placed_again_as_the_same_object(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    before = await harness.bind_and_report("Stopped")
    await drain(harness.controller)
    after = await harness.vm()
    assert_next_run_of(after, before, number=2)
    assert after.status.previous_runs[0].phase == "Stopped"
    events = await harness.events()
    assert [event.reason for event in events] == ["Restarting"]
    assert "run 1 on node n1 ended" in events[0].message


async def create_replica(harness: Harness, name: str) -> None:
    """A VM a Deployment controls."""
    vm = make_standalone_vm(name, "Always")
    vm.metadata.owner_references.add(kind="Deployment", name="web", uid="u-1", controller=True)
    await harness.api.create(vm)


async def test_a_failed_deployment_replica_keeps_its_object_and_owner_too(harness: Harness) -> None:
    await create_replica(harness, "web-1")
    before = await harness.bind_and_report("Failed", "web-1")
    await drain(harness.controller)
    assert_next_run_of(await harness.vm("web-1"), before, number=2)


async def test_halted_keeps_the_power_state_stopped(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Halted"))
    await drain(harness.controller)
    assert (await harness.vm()).spec.power_state == "Stopped"


async def test_start_on_a_running_vm_only_drops_the_action(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Manual"))
    running = await harness.bind_and_report("Running")
    await harness.request("start")
    await drain(harness.controller)
    after = await harness.vm()
    assert VM_ACTION_ANNOTATION not in after.metadata.annotations
    assert (after.metadata.uid, after.spec.node_name) == (running.metadata.uid, "n1")
    assert after.status.current_run.number == 1


async def test_a_restart_waits_for_the_agent_to_end_the_run_then_places_it_again(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    running = await harness.bind_and_report("Running")
    await harness.request("restart")
    await drain(harness.controller)
    waiting = await harness.vm()
    assert (waiting.spec.node_name, waiting.metadata.annotations[VM_ACTION_ANNOTATION]) == ("n1", "restart")

    await harness.bind_and_report("Stopped")  # the agent of n1 ended the run (vm_runs.run_end_requested)
    await drain(harness.controller)
    after = await harness.vm()
    assert_next_run_of(after, running, number=2)
    assert VM_ACTION_ANNOTATION not in after.metadata.annotations


async def test_a_restart_of_a_vm_not_placed_yet_is_dropped(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    await harness.request("restart")
    await drain(harness.controller)
    after = await harness.vm()
    assert VM_ACTION_ANNOTATION not in after.metadata.annotations
    assert after.status.current_run.number == 1


async def test_a_vm_whose_node_was_lost_is_placed_again_without_its_agent(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "RerunOnFailure"))
    before = await harness.bind_and_report("Running")
    lost = await harness.vm()
    lost.status.phase, lost.status.reason = "Failed", "NodeLost"  # what node lifecycle writes
    await harness.api.update_status(lost)
    await drain(harness.controller)
    after = await harness.vm()
    assert_next_run_of(after, before, number=2)
    assert (after.status.previous_runs[0].phase, after.status.previous_runs[0].reason) == ("Failed", "NodeLost")


async def test_runs_beyond_ten_keep_the_newest_ten(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    for _ in range(12):
        await harness.bind_and_report("Failed")
        await drain(harness.controller)
    after = await harness.vm()
    assert after.status.current_run.number == 13
    assert [run.number for run in after.status.previous_runs] == list(range(12, 2, -1))


async def evict(harness: Harness, node_name: str = "n1", name: str = "db") -> None:
    """What `atoll node drain` writes: ask the VM to leave ``node_name``."""
    vm = await harness.vm(name)
    vm.metadata.annotations[VM_EVICT_ANNOTATION] = node_name
    await harness.api.update(vm)


async def test_an_evicted_vm_waits_for_its_agent_then_is_unbound_keeping_its_uid(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    running = await harness.bind_and_report("Running")
    await evict(harness)
    await drain(harness.controller)
    assert (await harness.vm()).spec.node_name == "n1"  # still running there: the agent stops it first

    await harness.bind_and_report("Stopped")  # the agent of n1 stopped the guest
    await drain(harness.controller)
    after = await harness.vm()
    assert after.metadata.uid == running.metadata.uid
    assert after.spec.node_name == ""
    assert VM_EVICT_ANNOTATION not in after.metadata.annotations
    assert_next_run_of(after, running, number=2)
    assert [event.reason for event in await harness.events()] == ["Evicted"]


async def test_an_evicted_deployment_replica_is_unbound_too_never_deleted(harness: Harness) -> None:
    await create_replica(harness, "web-1")
    await harness.bind_and_report("Running", "web-1")
    await evict(harness, name="web-1")
    await harness.bind_and_report("Stopped", "web-1")
    await drain(harness.controller)
    after = await harness.vm("web-1")
    assert (after.spec.node_name, after.status.phase) == ("", "Pending")
    assert after.metadata.owner_references[0].name == "web"


async def test_an_eviction_from_a_node_the_vm_already_left_is_dropped(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    await evict(harness, node_name="n0")
    await drain(harness.controller)
    after = await harness.vm()
    assert VM_EVICT_ANNOTATION not in after.metadata.annotations
    assert after.status.restart_count == 0
