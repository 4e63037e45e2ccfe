"""The pod runner's side of pod sandboxes (abilities.PodSandboxes), on a simulated driver that has
them: one sandbox per pod, made before its first container and kept across container restarts,
removed when the pod ends and when it is deleted, never for hostNetwork pods; a failure is a
Warning Event FailedCreatePodSandBox with the driver's words and is retried after a back-off;
after an agent restart the sandboxes of pods no longer on the node are removed. Agent time is a
ManualClock."""

from __future__ import annotations

from collections.abc import Callable

from agent.drivers.abilities import SandboxConfig
from agent.drivers.protocol import SandboxError
from agent.drivers.sim.linux import SimLinuxDriver
from agent.registration import NodeProfile
from atoll import kinds
from atoll.clock import ManualClock
from tests.integration.agent_harness import bound_pod, cluster, event_reasons, eventually, node, settle

PROFILE = NodeProfile(name="n1", cpu="4", memory="8Gi", address="10.0.0.7")


class SandboxedSim(SimLinuxDriver):
    """A simulated Linux driver with pod sandboxes kept in memory; ``failures`` are raised by the
    next ``run_sandbox`` calls, in order."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.live: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.failures: list[str] = []

    async def run_sandbox(self, config: SandboxConfig) -> str:
        self.calls.append(("run", config.workload_uid))
        if self.failures:
            raise SandboxError(self.failures.pop(0))
        self.live.add(config.workload_uid)
        return "10.9.0.2"

    async def remove_sandbox(self, workload_uid: str) -> None:
        self.calls.append(("remove", workload_uid))
        self.live.discard(workload_uid)

    async def remove_orphan_sandboxes(self, is_live: Callable[[str], bool]) -> list[str]:
        gone = sorted(uid for uid in self.live if not is_live(uid))
        self.live.difference_update(gone)
        return gone


async def test_one_sandbox_is_made_before_the_first_container_kept_across_restarts_and_removed_on_delete() -> None:
    clock = ManualClock()
    driver = SandboxedSim(clock)
    async with cluster() as c, node(c.client, PROFILE, [driver], clock):
        created = kinds.unwrap(await c.client.create(bound_pod("crashy", "n1", "sleep 1; exit 1",
                                                               termination_grace_period_seconds=0)))
        uid = created.metadata.uid
        await eventually(c.client, "pod", "crashy", lambda p: p.status.phase == "Running")
        assert driver.calls == [("run", uid)] and driver.live == {uid}
        clock.advance(1)
        await eventually(c.client, "pod", "crashy", lambda p: p.status.container_statuses[0].restart_count == 1)
        assert driver.calls == [("run", uid)], "a container restart keeps the pod's sandbox"
        await c.client.delete("pod", "crashy")
        await eventually(c.client, "pod", "crashy", lambda p: p is None)
        assert driver.calls[-1] == ("remove", uid) and driver.live == set()


async def test_a_pod_that_ended_gives_its_sandbox_back_and_a_host_network_pod_never_has_one() -> None:
    clock = ManualClock()
    driver = SandboxedSim(clock)
    async with cluster() as c, node(c.client, PROFILE, [driver], clock):
        done = kinds.unwrap(await c.client.create(bound_pod("job", "n1", "exit 0", restart_policy="Never")))
        await eventually(c.client, "pod", "job", lambda p: p.status.phase == "Succeeded")
        assert ("remove", done.metadata.uid) in driver.calls and driver.live == set()
        host = kinds.unwrap(await c.client.create(bound_pod("host", "n1", "sleep infinity", host_network=True)))
        await eventually(c.client, "pod", "host", lambda p: p.status.phase == "Running")
        assert all(uid != host.metadata.uid for _, uid in driver.calls)


async def test_a_sandbox_failure_is_a_warning_event_with_its_words_then_retried_after_a_back_off() -> None:
    clock = ManualClock()
    driver = SandboxedSim(clock)
    driver.failures = ["CNI ADD bridge: failed to set bridge addr: could not add IP address"]
    async with cluster() as c, node(c.client, PROFILE, [driver], clock) as running:
        await c.client.create(bound_pod("net", "n1", "sleep infinity"))
        waiting = await eventually(c.client, "pod", "net", lambda p: p is not None and any(
            "could not add IP address" in s.state.waiting.message for s in p.status.container_statuses))
        assert waiting.status.phase == "Pending"
        assert waiting.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
        await running.events.flush()
        assert "FailedCreatePodSandBox" in await event_reasons(c.client, "net")
        await settle()
        assert len(driver.calls) == 1, "no retry before the back-off"
        clock.advance(10)
        await eventually(c.client, "pod", "net", lambda p: p.status.phase == "Running")
        assert len(driver.calls) == 2


async def test_after_an_agent_restart_sandboxes_of_pods_no_longer_on_the_node_are_removed() -> None:
    clock = ManualClock()
    driver = SandboxedSim(clock)
    async with cluster() as c:
        async with node(c.client, PROFILE, [driver], clock):
            kept = kinds.unwrap(await c.client.create(bound_pod("kept", "n1", "sleep infinity")))
            await eventually(c.client, "pod", "kept", lambda p: p.status.phase == "Running")
        driver.live.add("deleted-while-the-agent-was-down")
        async with node(c.client, PROFILE, [driver], clock):
            await eventually(c.client, "pod", "kept", lambda p: driver.live == {kept.metadata.uid})
