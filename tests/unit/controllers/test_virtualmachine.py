"""The VirtualMachine controller: run strategies, power actions and recreation of runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from atoll import finalizers
from atoll.annotations import VM_ACTION_ANNOTATION, VM_EVICT_ANNOTATION
from atoll.client import ApiError
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

    async def agent_lets_go(self, name: str = "db") -> None:
        """What the node's agent does once a deleted VM stopped: removes its finalizer (which Bind added)."""
        vm = await self.vm(name)
        assert vm.metadata.HasField("deletion_timestamp"), f"vm/{name} is not being deleted"
        vm.metadata.finalizers.remove(finalizers.NODE_AGENT)
        await self.api.update(vm)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = ManualClock()
    api = await FakeApi(clock).setup()
    await api.create(node("n1"))
    controller = VirtualMachineController(api, api.informer(virtualmachine_pb2.VirtualMachine), clock)
    await api.sync_informers()
    yield Harness(api, controller)
    await controller.queue.shutdown()


async def test_a_stopped_always_vm_is_recreated_unbound_with_a_new_uid(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    before = await harness.bind_and_report("Stopped")
    await drain(harness.controller)
    await harness.agent_lets_go()
    await drain(harness.controller)
    after = await harness.vm()
    assert after.metadata.uid != before.metadata.uid
    assert after.spec.node_name == ""
    assert (after.status.phase, after.status.restart_count) == ("Pending", 1)
    items, _ = await harness.api.list_all("Event")
    assert [item.event.reason for item in items] == ["Restarting"]


async def create_replica(harness: Harness, name: str) -> None:
    """A VM a Deployment controls."""
    vm = make_standalone_vm(name, "Always")
    vm.metadata.owner_references.add(kind="Deployment", name="web", uid="u-1", controller=True)
    await harness.api.create(vm)


async def test_an_owned_vm_is_deleted_for_its_owner_to_replace(harness: Harness) -> None:
    await create_replica(harness, "web-1")
    await harness.bind_and_report("Failed", "web-1")
    await drain(harness.controller)
    await harness.agent_lets_go("web-1")
    with pytest.raises(ApiError):
        await harness.vm("web-1")


async def test_halted_keeps_the_power_state_stopped(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Halted"))
    await drain(harness.controller)
    assert (await harness.vm()).spec.power_state == "Stopped"


async def test_start_on_a_running_vm_only_drops_the_action(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Manual"))
    await harness.bind_and_report("Running")
    running = await harness.vm()
    running.metadata.annotations[VM_ACTION_ANNOTATION] = "start"
    await harness.api.update(running)
    await drain(harness.controller)
    after = await harness.vm()
    assert VM_ACTION_ANNOTATION not in after.metadata.annotations
    assert after.metadata.uid == running.metadata.uid


async def test_a_failed_create_of_the_next_run_is_retried(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    await harness.bind_and_report("Stopped")
    await harness.controller.reconcile("default/db")  # deletes the stopped run
    await harness.agent_lets_go()
    harness.api.fail_next["create VirtualMachine"] = ApiError(grpc.StatusCode.UNAVAILABLE, "restarting")
    with pytest.raises(ApiError):
        await harness.controller.reconcile("default/db")
    await harness.controller.reconcile("default/db")
    assert (await harness.vm()).status.restart_count == 1


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
    assert finalizers.NODE_AGENT not in after.metadata.finalizers
    assert (after.status.phase, after.status.restart_count) == ("Pending", 1)
    items, _ = await harness.api.list_all("Event")
    assert [item.event.reason for item in items] == ["Evicted"]


async def test_an_evicted_deployment_replica_is_unbound_too_never_deleted(harness: Harness) -> None:
    await create_replica(harness, "web-1")
    await harness.bind_and_report("Running", "web-1")
    await evict(harness, name="web-1")
    await harness.bind_and_report("Stopped", "web-1")
    await drain(harness.controller)
    after = await harness.vm("web-1")
    assert (after.spec.node_name, after.status.phase) == ("", "Pending")


async def test_an_eviction_from_a_node_the_vm_already_left_is_dropped(harness: Harness) -> None:
    await harness.api.create(make_standalone_vm("db", "Always"))
    await evict(harness, node_name="n0")
    await drain(harness.controller)
    after = await harness.vm()
    assert VM_EVICT_ANNOTATION not in after.metadata.annotations
    assert after.status.restart_count == 0
