"""The agent against a real in-process API server: registration, leases, pod lifecycle, restart
policy and back-off, OOM kill, graceful deletion. Agent time is a ManualClock."""

from __future__ import annotations

import asyncio

import pytest

from agent.config import FINALIZER, LEASE_NAMESPACE
from agent.drivers.protocol import TaskPhase
from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.linux import SimLinuxDriver
from agent.registration import NodeProfile
from atoll.clock import ManualClock
from tests.integration.agent_harness import (
    bound_pod,
    cluster,
    event_reasons,
    eventually,
    node,
    settle,
)

PROFILE = NodeProfile(name="n1", cpu="4", memory="8Gi", address="10.0.0.7", labels={"zone": "a"})


def _phase(phase: str):  # type: ignore[no-untyped-def]
    return lambda pod: pod is not None and pod.status.phase == phase


async def test_registration_reports_capacity_allocatable_and_a_lease() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock):
        stored = (await c.client.get("node", "n1")).node
        assert stored.status.capacity["cpu"] == "4"
        assert stored.status.allocatable["cpu"] == "3900m"
        assert stored.status.allocatable["memory"] == "7936Mi"
        assert stored.status.node_info.os == "linux"
        assert list(stored.status.runtime_handlers) == ["sim-linux"]
        assert stored.metadata.labels["zone"] == "a"
        lease = (await c.client.get("lease", "n1", LEASE_NAMESPACE)).lease
        assert lease.spec.holder_identity == "n1"
        first = lease.spec.renew_time.ToNanoseconds()
        node_revision = stored.metadata.resource_version
        clock.advance(10)
        await eventually(c.client, "lease", "n1", lambda lease: lease.spec.renew_time.ToNanoseconds() > first,
                         namespace=LEASE_NAMESPACE)
        again = (await c.client.get("node", "n1")).node
        assert again.metadata.resource_version == node_revision, "a heartbeat must not rewrite the Node"


@pytest.mark.parametrize(
    ("script", "policy", "phase", "exit_code", "reason"),
    [
        pytest.param("exit 0", "Never", "Succeeded", 0, "Completed", id="a zero exit under Never succeeds"),
        pytest.param("exit 3", "Never", "Failed", 3, "Error", id="a non-zero exit under Never fails with its code"),
        pytest.param("exit 0", "OnFailure", "Succeeded", 0, "Completed", id="a zero exit under OnFailure succeeds"),
        pytest.param("alloc 200Mi; sleep 5", "Never", "Failed", 137, "OOMKilled",
                     id="memory over the limit is OOM-killed"),
    ],
)
async def test_a_container_that_ends_sets_the_pod_phase_and_its_terminated_state(
    script: str, policy: str, phase: str, exit_code: int, reason: str
) -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock):
        pod = bound_pod("job", "n1", script, restart_policy=policy)
        pod.pod.spec.containers[0].resources.limits["memory"] = "100Mi"
        await c.client.create(pod)
        done = await eventually(c.client, "pod", "job", _phase(phase))
        state = done.status.container_statuses[0].state.terminated
        assert (state.exit_code, state.reason) == (exit_code, reason)
        assert done.status.container_statuses[0].restart_count == 0


async def test_a_service_runs_with_finalizer_ready_condition_and_a_started_event() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock) as running:
        await c.client.create(bound_pod("web", "n1"))
        pod = await eventually(c.client, "pod", "web", _phase("Running"))
        assert FINALIZER in pod.metadata.finalizers
        status = pod.status.container_statuses[0]
        assert status.state.WhichOneof("state") == "running"
        assert status.ready and status.container_id.startswith("sim-linux://")
        assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
        assert pod.status.host_ip == "10.0.0.7"
        await running.events.flush()
        assert "Started" in await event_reasons(c.client, "web")


async def test_restart_always_backs_off_10s_then_20s_and_shows_crash_loop_back_off() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock) as running:
        await c.client.create(bound_pod("crash", "n1", "exit 1"))
        waiting = await eventually(c.client, "pod", "crash", lambda p: p and p.status.container_statuses
                                   and p.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff")
        status = waiting.status.container_statuses[0]
        assert status.restart_count == 1, "the first restart is immediate"
        assert "back-off 10s" in status.state.waiting.message
        assert status.last_state.terminated.exit_code == 1
        assert waiting.status.phase == "Running"
        clock.advance(9)
        await settle()
        assert (await c.client.get("pod", "crash")).pod.status.container_statuses[0].restart_count == 1
        clock.advance(1)
        after = await eventually(c.client, "pod", "crash", lambda p: "back-off 20s" in
                                 p.status.container_statuses[0].state.waiting.message)
        assert after.status.container_statuses[0].restart_count == 2
        await running.events.flush()
        assert "BackOff" in await event_reasons(c.client, "crash")


async def test_on_failure_restarts_a_failed_container_but_not_a_successful_one() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock):
        await c.client.create(bound_pod("flaky", "n1", "sleep 1; exit 2", restart_policy="OnFailure"))
        await eventually(c.client, "pod", "flaky", _phase("Running"))
        clock.advance(1)
        restarted = await eventually(c.client, "pod", "flaky",
                                     lambda p: p.status.container_statuses[0].restart_count == 1)
        assert restarted.status.phase == "Running"


async def test_delete_stops_within_the_grace_period_then_the_pod_disappears() -> None:
    clock = ManualClock()
    driver = SimLinuxDriver(SimSettings(term_seconds=0), clock)
    async with cluster() as c, node(c.client, PROFILE, [driver], clock) as running:
        pod = bound_pod("stubborn", "n1", "ignore-term; sleep infinity", termination_grace_period_seconds=20)
        await c.client.create(pod)
        await eventually(c.client, "pod", "stubborn", _phase("Running"))
        response = await c.client.delete("pod", "stubborn")
        assert not response.deleted, "the agent's finalizer holds the pod until its containers stop"
        await stopping(driver)
        clock.advance(19)
        await settle()
        still = (await c.client.get("pod", "stubborn")).pod
        assert still.metadata.HasField("deletion_timestamp")
        clock.advance(2)
        await eventually(c.client, "pod", "stubborn", lambda p: p is None)
        assert await driver.list_tasks() == [], "the container is destroyed"
        await running.events.flush()
        assert "Killed" in await event_reasons(c.client, "stubborn")


async def stopping(driver: SimLinuxDriver) -> None:
    """Wait (real time) until the agent has asked the driver's only task to stop."""
    for _ in range(250):
        handles = await driver.list_tasks()
        if handles and (await driver.inspect(handles[0].task_id)).phase is TaskPhase.STOPPING:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the agent never stopped the task")


async def test_a_pod_deleted_before_it_runs_leaves_nothing_behind() -> None:
    clock = ManualClock()
    driver = SimLinuxDriver(clock=clock)
    async with cluster() as c, node(c.client, PROFILE, [driver], clock):
        await c.client.create(bound_pod("brief", "n1"))
        await eventually(c.client, "pod", "brief", _phase("Running"))
        await c.client.delete("pod", "brief")
        await eventually(c.client, "pod", "brief", lambda p: p is None)
        assert await driver.list_tasks() == []
