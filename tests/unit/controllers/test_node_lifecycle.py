"""The node lifecycle controller: grace period, NoExecute taint, eviction timing, recovery, and
what a deleted node leaves behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from atoll import finalizers, kinds
from atoll.clock import ManualClock
from atoll.v1 import lease_pb2, node_pb2, object_pb2, pod_pb2, scheduling_pb2, virtualmachine_pb2
from controller.controllers.node_lifecycle.reconciler import (
    UNREACHABLE_TAINT_KEY,
    NodeLifecycleController,
    NodeLifecycleOptions,
)
from controller.runtime.reconciler_runner import drain
from tests.support.fake_api import FakeApi
from tests.support.objects import make_pod
from tests.unit.controllers.builders import make_lease, make_standalone_vm, node

GRACE = 40.0


@dataclass
class Harness:
    api: FakeApi
    clock: ManualClock
    controller: NodeLifecycleController

    async def run_for(self, seconds: float, *, renew: tuple[str, ...] = (), step: float = 5.0) -> None:
        """Let ``seconds`` pass in steps, renewing the leases of ``renew`` each step and running
        every reconcile that comes due."""
        elapsed = 0.0
        while elapsed < seconds:
            for name in renew:
                await self.renew(name)
            await self.clock.advance_and_settle(step)
            await drain(self.controller)
            elapsed += step

    async def renew(self, name: str) -> None:
        lease = (await self.api.get("Lease", name, "atoll-node-lease")).lease
        lease.spec.renew_time.FromNanoseconds(int(self.clock.now() * 1e9))
        await self.api.update(lease)

    async def node(self, name: str) -> Any:
        return (await self.api.get("Node", name, "")).node

    async def exists(self, kind: str, name: str) -> bool:
        items, _ = await self.api.list_all(kind)
        return any(kinds.unwrap(item).metadata.name == name for item in items)

    async def events(self, reason: str) -> list[Any]:
        items, _ = await self.api.list_all("Event")
        return [item.event for item in items if item.event.reason == reason]


async def bound_pod(
    name: str, node_name: str, *, seconds: int | None = None, forever: bool = False
) -> object_pb2.Object:
    pod = make_pod(name)
    pod.pod.spec.node_name = node_name
    if seconds is not None or forever:
        toleration = scheduling_pb2.Toleration(key=UNREACHABLE_TAINT_KEY, operator="Exists", effect="NoExecute")
        if seconds is not None:
            toleration.toleration_seconds = seconds
        pod.pod.spec.scheduling.tolerations.append(toleration)
    return pod


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = ManualClock()
    api = await FakeApi(clock).setup()
    for name in ("n1", "n2"):
        await api.create(node(name))
        await api.create(make_lease(name, clock.now()))
    workloads = {"Pod": api.informer(pod_pb2.Pod), "VirtualMachine": api.informer(virtualmachine_pb2.VirtualMachine)}
    options = NodeLifecycleOptions(grace_period=GRACE, default_toleration_seconds=300.0)
    controller = NodeLifecycleController(
        api, api.informer(node_pb2.Node), api.informer(lease_pb2.Lease), workloads, clock, options
    )
    await api.sync_informers()
    await drain(controller)
    yield Harness(api, clock, controller)
    await controller.queue.shutdown()


def ready_of(node_obj: Any) -> tuple[str, str]:
    (ready,) = [c for c in node_obj.status.conditions if c.type == "Ready"]
    return ready.status, ready.reason


def tainted(node_obj: Any) -> bool:
    return any(t.key == UNREACHABLE_TAINT_KEY and t.effect == "NoExecute" for t in node_obj.spec.taints)


async def test_a_node_that_renews_its_lease_stays_untainted(harness: Harness) -> None:
    await harness.run_for(120, renew=("n1", "n2"))
    assert not tainted(await harness.node("n1"))
    assert await harness.events("NodeNotReady") == []


async def test_a_silent_node_becomes_unknown_tainted_and_reported_after_the_grace_period(harness: Harness) -> None:
    await harness.run_for(35, renew=("n2",))
    assert not tainted(await harness.node("n1"))
    await harness.run_for(10, renew=("n2",))
    silent = await harness.node("n1")
    assert tainted(silent)
    assert ready_of(silent) == ("Unknown", "NodeStatusUnknown")
    (event,) = await harness.events("NodeNotReady")
    assert (event.type, event.involved_object.name) == ("Warning", "n1")
    assert not tainted(await harness.node("n2"))


@pytest.mark.parametrize(
    ("toleration", "evicted_by", "kept_until"),
    [
        ({}, 300 + 10, 300 - 10),
        ({"seconds": 30}, 30 + 10, 30 - 10),
        ({"seconds": 0}, 10, None),
        ({"forever": True}, None, 3600),
    ],
    ids=[
        "a pod without a toleration goes after the default 300 seconds",
        "a pod tolerating 30 seconds goes after 30 seconds",
        "a pod tolerating 0 seconds goes at once",
        "a pod tolerating forever stays",
    ],
)
async def test_workloads_are_evicted_when_their_toleration_runs_out(
    harness: Harness, toleration: dict[str, Any], evicted_by: float | None, kept_until: float | None
) -> None:
    await harness.api.create(await bound_pod("victim", "n1", **toleration))
    await harness.api.create(await bound_pod("bystander", "n2"))
    await harness.run_for(GRACE + 5, renew=("n2",))  # tainted from here
    if kept_until is not None:
        await harness.run_for(kept_until, renew=("n2",))
        assert await harness.exists("Pod", "victim")
    if evicted_by is not None:
        await harness.run_for(evicted_by - (kept_until or 0), renew=("n2",))
        assert not await harness.exists("Pod", "victim")
    assert await harness.exists("Pod", "bystander")


async def test_every_vm_standalone_or_owned_is_marked_node_lost_never_deleted(harness: Harness) -> None:
    standalone = make_standalone_vm("solo")
    standalone.spec.node_name = "n1"
    await harness.api.create(standalone)
    owned = make_standalone_vm("replica")
    owned.spec.node_name = "n1"
    owned.metadata.owner_references.add(kind="Deployment", name="web", uid="u-1", controller=True)
    await harness.api.create(owned)
    await harness.run_for(GRACE + 300 + 10, renew=("n2",))
    for name in ("solo", "replica"):
        lost = (await harness.api.get("VirtualMachine", name)).virtual_machine
        assert (lost.status.phase, lost.status.reason) == ("Failed", "NodeLost")
        assert lost.status.current_run.reason == "NodeLost"


async def test_a_node_that_comes_back_loses_the_taint_and_is_ready_again(harness: Harness) -> None:
    await harness.api.create(await bound_pod("survivor", "n1"))
    await harness.run_for(GRACE + 10, renew=("n2",))
    assert tainted(await harness.node("n1"))
    await harness.run_for(10, renew=("n1", "n2"))
    back = await harness.node("n1")
    assert not tainted(back)
    assert ready_of(back) == ("True", "NodeLeaseRenewed")
    await harness.run_for(400, renew=("n1", "n2"))
    assert await harness.exists("Pod", "survivor")


async def test_a_restarted_controller_gives_every_node_a_full_grace_period(harness: Harness) -> None:
    await harness.clock.advance_and_settle(1000)  # leases are old, but this controller never saw them change
    fresh = NodeLifecycleController(
        harness.api,
        harness.api.informer(node_pb2.Node),
        harness.api.informer(lease_pb2.Lease),
        {"Pod": harness.api.informer(pod_pb2.Pod)},
        harness.clock,
        NodeLifecycleOptions(grace_period=GRACE),
    )
    await harness.api.sync_informers()
    await drain(fresh)
    assert not tainted(await harness.node("n1"))
    await harness.clock.advance_and_settle(GRACE + 1)
    await drain(fresh)
    assert tainted(await harness.node("n1"))
    await fresh.queue.shutdown()


def held_by_the_agent(pod: object_pb2.Object) -> object_pb2.Object:
    pod.pod.metadata.finalizers.append(finalizers.NODE_AGENT)  # as Bind or the agent leaves it
    return pod


async def test_what_a_deleted_node_ran_is_collected_after_the_quarantine(harness: Harness) -> None:
    await harness.api.create(held_by_the_agent(await bound_pod("orphan", "n1", forever=True)))
    await harness.api.create(held_by_the_agent(await bound_pod("leaving", "n1")))
    await harness.api.delete("Pod", "leaving")  # deleting, but its agent will never let go
    solo = make_standalone_vm("solo")
    solo.spec.node_name = "n1"
    await harness.api.create(solo)
    await harness.api.create(await bound_pod("bystander", "n2"))
    await harness.api.delete("Node", "n1", "")
    await harness.run_for(35, renew=("n2",))
    assert await harness.exists("Pod", "orphan") and await harness.exists("Pod", "leaving"), "quarantine"
    await harness.run_for(10, renew=("n2",))
    assert not await harness.exists("Pod", "orphan"), "tolerations do not matter: the node is gone"
    assert not await harness.exists("Pod", "leaving"), "released from the agent that is gone"
    vm = (await harness.api.get("VirtualMachine", "solo")).virtual_machine
    assert (vm.status.phase, vm.status.reason) == ("Failed", "NodeLost"), "the VM controller restarts it"
    assert await harness.exists("Pod", "bystander")
    assert [e.involved_object.name for e in await harness.events("NodeDeleted")] == ["orphan", "solo"]


async def test_a_workload_bound_to_a_node_that_never_existed_is_collected(harness: Harness) -> None:
    await harness.api.create(await bound_pod("lost", "ghost"))
    await harness.run_for(35, renew=("n1", "n2"))
    assert await harness.exists("Pod", "lost")
    await harness.run_for(10, renew=("n1", "n2"))
    assert not await harness.exists("Pod", "lost")


async def test_a_node_back_within_the_quarantine_keeps_its_workloads(harness: Harness) -> None:
    await harness.api.create(await bound_pod("keeper", "n1"))
    await harness.api.delete("Node", "n1", "")
    await harness.run_for(20, renew=("n1", "n2"))
    await harness.api.create(node("n1"))  # re-registered, as an agent does after a reinstall
    await harness.run_for(60, renew=("n1", "n2"))
    assert await harness.exists("Pod", "keeper")


def ready_condition(obj: Any) -> tuple[str, str]:
    found = [c for c in obj.status.conditions if c.type == "Ready"]
    return (found[0].status, found[0].reason) if found else ("", "")


async def test_workloads_on_a_silent_node_turn_not_ready_at_once_and_stay_until_evicted(harness: Harness) -> None:
    for name, node_name in (("victim", "n1"), ("bystander", "n2")):
        pod = await bound_pod(name, node_name)
        pod.pod.status.phase = "Running"
        pod.pod.status.conditions.add(type="Ready", status="True")
        await harness.api.create(pod)
    vm = make_standalone_vm("vm1")
    vm.spec.node_name = "n1"
    vm.status.phase = "Running"
    await harness.api.create(vm)
    await harness.run_for(GRACE - 5, renew=("n2",))
    assert ready_condition((await harness.api.get("Pod", "victim")).pod) == ("True", "")
    await harness.run_for(10, renew=("n2",))
    assert ready_condition((await harness.api.get("Pod", "victim")).pod) == ("False", "NodeNotReady")
    assert ready_condition((await harness.api.get("VirtualMachine", "vm1")).virtual_machine) == (
        "False", "NodeNotReady"
    )
    assert ready_condition((await harness.api.get("Pod", "bystander")).pod) == ("True", "")
    writes = harness.api.count("update_status", "Pod")
    await harness.run_for(60, renew=("n2",))
    assert harness.api.count("update_status", "Pod") == writes  # marked once, not on every reconcile
    assert await harness.exists("Pod", "victim")


async def test_a_deleting_pod_still_held_by_a_lost_nodes_agent_is_released(harness: Harness) -> None:
    """An earlier release that lost a race leaves a pod deleting with the agent's finalizer on a
    tainted node: the next reconcile releases it, not skips it as already deleting."""
    pod = await bound_pod("stuck", "n1", seconds=0)
    pod.pod.metadata.finalizers.append(finalizers.NODE_AGENT)
    await harness.api.create(pod)
    await harness.api.delete("Pod", "stuck", "default")  # deletion_timestamp set, the finalizer holds it
    assert await harness.exists("Pod", "stuck")
    await harness.run_for(GRACE + 10, renew=("n2",))
    assert not await harness.exists("Pod", "stuck")


async def test_a_workload_due_at_once_is_evicted_in_the_pass_that_marks_it_not_ready(harness: Harness) -> None:
    """With the watch lagging behind the controller's own writes (as under load), the eviction
    that follows the Ready=False write must not use the version from before that write: a stale
    precondition fails, and a failed reconcile waits for the queue's back-off and its global
    retry budget (10/s), which turned a node failure of a few seconds into tens of seconds."""
    await harness.api.create(held_by_the_agent(await bound_pod("victim", "n1", seconds=0)))
    vm = make_standalone_vm("vm1")
    vm.spec.node_name = "n1"
    vm.spec.scheduling.tolerations.add(key=UNREACHABLE_TAINT_KEY, operator="Exists", effect="NoExecute")
    vm.spec.scheduling.tolerations[0].toleration_seconds = 0
    await harness.api.create(vm)
    await harness.run_for(GRACE - 5, renew=("n2",))
    harness.api.hold_events("Pod", "VirtualMachine")
    await harness.run_for(10, renew=("n2",))
    assert not await harness.exists("Pod", "victim")
    lost = (await harness.api.get("VirtualMachine", "vm1")).virtual_machine
    assert (lost.status.phase, lost.status.reason) == ("Failed", "NodeLost")
    assert ready_condition(lost) == ("False", "NodeNotReady")
    assert harness.controller.queue.retries == 0, "no reconcile failed"


async def test_an_eviction_that_loses_a_race_waits_for_the_newer_version_not_a_back_off(harness: Harness) -> None:
    await harness.api.create(held_by_the_agent(await bound_pod("victim", "n1", seconds=30)))
    await harness.run_for(GRACE + 5, renew=("n2",))  # tainted and marked not ready
    harness.api.hold_events("Pod")
    late = (await harness.api.get("Pod", "victim")).pod
    late.metadata.annotations["agent"] = "a late write the controller has not seen"
    await harness.api.update(late)
    await harness.run_for(35, renew=("n2",))  # due: the Delete's precondition is stale
    assert await harness.exists("Pod", "victim")
    assert harness.controller.queue.retries == 0, "a conflict is not a failure to back off from"
    await harness.api.release_events()  # the newer version arrives: the node is looked at again
    await drain(harness.controller)
    assert not await harness.exists("Pod", "victim")
