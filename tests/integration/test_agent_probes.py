"""Probes at the agent against a real in-process API server, on simulated drivers told to fail
them (``sim.atoll.dev/fail-probes``); agent time is a ManualClock."""

from __future__ import annotations

from typing import Any

from agent.drivers.sim.hypervisor import HypervisorProfile, SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.drivers.sim.probes import FAIL_PROBES_ANNOTATION
from agent.registration import NodeProfile
from atoll import kinds
from atoll.clock import ManualClock
from atoll.v1 import object_pb2, probe_pb2
from tests.integration.agent_harness import bound_pod, bound_vm, cluster, eventually, node

PROFILE = NodeProfile(name="n1", cpu="4", memory="8Gi", address="10.0.0.7")


def tcp(port: int = 80, failure: int = 3) -> probe_pb2.Probe:
    return probe_pb2.Probe(tcp_socket=probe_pb2.TCPSocketAction(port=str(port)), failure_threshold=failure)


def exec_probe(*command: str, failure: int = 3) -> probe_pb2.Probe:
    return probe_pb2.Probe(exec=probe_pb2.ExecAction(command=command), failure_threshold=failure)


def pod_with(name: str, fail: str = "", **probes: probe_pb2.Probe) -> object_pb2.Object:
    pod = bound_pod(name, "n1")
    if fail:
        pod.pod.metadata.annotations[FAIL_PROBES_ANNOTATION] = fail
    for field, probe in probes.items():
        getattr(pod.pod.spec.containers[0], field).CopyFrom(probe)
    return pod


def ready(message: Any) -> str:
    return {c.type: c.status for c in message.status.conditions}.get("Ready", "")


async def messages(client: Any, name: str, reason: str) -> list[str]:
    items, _ = await client.list_all("events", "default", field_selector=f"involvedObject.name={name}")
    return [kinds.unwrap(item).message for item in items if kinds.unwrap(item).reason == reason]


async def tick(clock: ManualClock, seconds: float, client: Any, name: str, check: Any, kind: str = "pod") -> Any:
    """Advance agent time by ``seconds`` (probes run at each deadline), then wait for ``check``."""
    await clock.advance_and_settle(seconds)
    return await eventually(client, kind, name, check)


async def test_readiness_decides_ready_and_a_failing_readiness_probe_never_restarts() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock) as running:
        await c.client.create(pod_with("web", "readiness:30", readiness_probe=tcp(failure=1)))
        up = await tick(clock, 0, c.client, "web", lambda p: p and ready(p) == "True")
        assert up.status.container_statuses[0].ready
        for _ in range(2):
            await tick(clock, 10, c.client, "web", lambda p: ready(p) == "True")
        down = await tick(clock, 10, c.client, "web", lambda p: ready(p) == "False")
        status = down.status.container_statuses[0]
        assert (down.status.phase, status.ready, status.restart_count) == ("Running", False, 0)
        assert status.state.WhichOneof("state") == "running", "readiness never kills"
        await running.events.flush()
        assert await messages(c.client, "web", "Unhealthy") == [
            "Readiness probe of container main failed: simulated readiness probe failure (sim.atoll.dev/fail-probes)"
        ]


async def test_a_pod_is_not_ready_before_its_first_readiness_success() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock):
        probe = tcp()
        probe.initial_delay_seconds = 20
        await c.client.create(pod_with("slow", readiness_probe=probe))
        early = await eventually(c.client, "pod", "slow", lambda p: p and p.status.phase == "Running")
        assert ready(early) == "False" and not early.status.container_statuses[0].ready
        await tick(clock, 10, c.client, "slow", lambda p: ready(p) == "False")
        await tick(clock, 10, c.client, "slow", lambda p: ready(p) == "True")


async def test_a_failing_liveness_probe_kills_and_restarts_the_container_with_back_off() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock) as running:
        await c.client.create(pod_with("live", "liveness", liveness_probe=exec_probe("true")))
        await eventually(c.client, "pod", "live", lambda p: p and p.status.phase == "Running")
        await tick(clock, 10, c.client, "live", lambda p: p.status.container_statuses[0].restart_count == 0)
        restarted = await tick(clock, 10, c.client, "live",
                               lambda p: p.status.container_statuses[0].restart_count == 1)
        last = restarted.status.container_statuses[0].last_state.terminated
        assert last.message == "liveness probe failed: simulated liveness probe failure (sim.atoll.dev/fail-probes)"
        assert last.exit_code == 143, "stopped gracefully (SIGTERM) within the grace period"
        # The new run fails its three probes again; the second restart waits out the back-off.
        backing = await tick(clock, 20, c.client, "live", lambda p: p.status.container_statuses[0].state.waiting.reason
                             == "CrashLoopBackOff")
        assert backing.status.container_statuses[0].restart_count == 1
        await running.events.flush()
        assert "Container main failed liveness probe, will be restarted" in await messages(c.client, "live", "Killing")
        assert len(await messages(c.client, "live", "Unhealthy")) == 2


async def test_startup_gates_readiness_and_a_failing_startup_probe_restarts() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock):
        pod = pod_with("boot", "startup", startup_probe=exec_probe("true", failure=2), readiness_probe=tcp())
        await c.client.create(pod)
        await eventually(c.client, "pod", "boot", lambda p: p and p.status.phase == "Running")
        restarted = await tick(clock, 10, c.client, "boot", lambda p: p.status.container_statuses[0].restart_count == 1)
        assert ready(restarted) == "False", "readiness is never probed before startup passes"
        assert "startup probe failed" in restarted.status.container_statuses[0].last_state.terminated.message


async def test_exec_probes_use_the_simulated_exec_and_a_pod_is_ready_only_when_every_container_is() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, PROFILE, [SimLinuxDriver(clock=clock)], clock):
        pod = pod_with("pair", readiness_probe=exec_probe("cat", "/tmp/healthy"))
        side = pod.pod.spec.containers.add(name="side", image="busybox")
        side.readiness_probe.CopyFrom(exec_probe("false"))
        await c.client.create(pod)
        seen = await tick(clock, 0, c.client, "pair", lambda p: p and p.status.container_statuses
                          and p.status.container_statuses[0].ready)
        assert [s.ready for s in seen.status.container_statuses] == [True, False]
        assert ready(seen) == "False"


def hypervisor(clock: ManualClock) -> SimHypervisorDriver:
    return SimHypervisorDriver(HypervisorProfile(type="type1", boot_seconds=2.0), clock=clock)


async def boot_probed_vm(client: Any, clock: ManualClock, name: str, fail: str, field: str,
                         probe: probe_pb2.Probe, expect_ready: str) -> None:
    """Create VM ``name`` with ``probe`` in ``field`` and fail-probes ``fail``; boot it (2 s) and
    wait until it runs with the Ready condition ``expect_ready``."""
    vm = bound_vm(name, "kvm1")
    vm.virtual_machine.metadata.annotations[FAIL_PROBES_ANNOTATION] = fail
    getattr(vm.virtual_machine.spec, field).CopyFrom(probe)
    await client.create(vm)
    await eventually(client, "vm", name, lambda v: v and v.status.phase == "Starting")
    await tick(clock, 2, client, name, lambda v: v.status.phase == "Running" and ready(v) == expect_ready, kind="vm")


async def test_vm_probes_readiness_decides_ready_and_liveness_restarts_the_vm() -> None:
    clock = ManualClock()
    kvm = NodeProfile(name="kvm1", cpu="16", memory="64Gi")
    async with cluster() as c, node(c.client, kvm, [hypervisor(clock)], clock) as running:
        await boot_probed_vm(c.client, clock, "db", "readiness", "readiness_probe", tcp(5432, failure=1), "False")
        await boot_probed_vm(c.client, clock, "sick", "liveness:15", "liveness_probe", tcp(22, failure=1), "True")
        for _ in range(2):
            await clock.advance_and_settle(10)
        again = await eventually(c.client, "vm", "sick", lambda v: v.status.restart_count == 1)
        assert again.status.phase in ("Starting", "Running")
        await running.events.flush()
        killing = await messages(c.client, "sick", "Killing")
        assert killing == ["The virtual machine failed its liveness probe, stopping it"]
