"""Windows pods end to end at the agent: build rules per isolation mode (pods forced onto the node
by nodeName, so only the agent's re-check stands between them and the host), HostProcess in the
host network, OS mismatch, and memory limits as hard caps."""

from __future__ import annotations

import pytest

from agent.drivers.sim.linux import SimLinuxDriver
from agent.drivers.sim.windows import SimWindowsDriver, WindowsHost
from agent.drivers.sim.windows_builds import OS_MISMATCH
from agent.registration import NodeProfile
from atoll.clock import ManualClock
from atoll.v1 import object_pb2
from tests.integration.agent_harness import bound_pod, cluster, eventually, node

WIN2022 = NodeProfile(name="w22", os="windows", address="10.0.1.5")
HOST = WindowsHost(os_build="10.0.20348", isolation=("process", "hyperv", "hostprocess"))


def windows_pod(name: str, isolation: str, image_build: str, script: str | None = None) -> object_pb2.Object:
    pod = bound_pod(name, "w22", script, os="windows")
    pod.pod.spec.windows.isolation = isolation
    pod.pod.spec.windows.image_build = image_build
    pod.pod.spec.containers[0].image = "mcr.microsoft.com/windows/servercore"
    if isolation == "hostprocess":
        pod.pod.spec.host_network = True
        pod.pod.spec.containers[0].host_process = True
    return pod


@pytest.mark.parametrize(
    ("isolation", "image_build", "phase"),
    [
        pytest.param("process", "10.0.20348", "Running", id="process isolation runs a same-build image"),
        pytest.param("hyperv", "10.0.17763", "Running", id="hyperv isolation runs an older image"),
        pytest.param("hyperv", "10.0.26100", "Failed", id="hyperv isolation refuses a newer image"),
        pytest.param("hostprocess", "10.0.17763", "Running", id="hostprocess ignores the image build"),
    ],
)
async def test_build_rules_per_isolation_mode(isolation: str, image_build: str, phase: str) -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, WIN2022, [SimWindowsDriver(HOST, clock=clock)], clock):
        await c.client.create(windows_pod("app", isolation, image_build))
        await eventually(c.client, "pod", "app", lambda p: p is not None and p.status.container_statuses)
        clock.advance(HOST.utility_vm_boot)
        await eventually(c.client, "pod", "app", lambda p: p.status.phase == phase)


async def test_a_2019_image_forced_onto_a_2022_node_fails_with_microsofts_message() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, WIN2022, [SimWindowsDriver(HOST, clock=clock)], clock):
        await c.client.create(windows_pod("old", "process", "10.0.17763"))
        pod = await eventually(c.client, "pod", "old", lambda p: p is not None and p.status.phase == "Failed")
        terminated = pod.status.container_statuses[0].state.terminated
        assert terminated.reason == "ContainerCannotRun"
        assert OS_MISMATCH in terminated.message
        assert OS_MISMATCH in pod.status.message


async def test_hostprocess_runs_in_the_host_network_and_hyperv_pays_for_a_utility_vm() -> None:
    clock = ManualClock()
    driver = SimWindowsDriver(HOST, clock=clock)
    async with cluster() as c, node(c.client, WIN2022, [driver], clock):
        await c.client.create(windows_pod("agent", "hostprocess", ""))
        await c.client.create(windows_pod("isolated", "hyperv", "10.0.20348"))
        host = await eventually(c.client, "pod", "agent", lambda p: p is not None and p.status.phase == "Running")
        assert host.status.pod_ip == driver.settings.host_ip
        booting = await eventually(c.client, "pod", "isolated", lambda p: p.status.phase == "Pending")
        assert booting.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
        clock.advance(HOST.utility_vm_boot)
        await eventually(c.client, "pod", "isolated", lambda p: p.status.phase == "Running")
        used = [(await driver.inspect(h.task_id)).memory_used for h in await driver.list_tasks()]
        assert sorted(used) == [0, HOST.utility_vm_memory], "only the hyperv pod pays for a utility VM"


async def test_windows_memory_limits_are_hard_caps_not_oom_kills() -> None:
    clock = ManualClock()
    driver = SimWindowsDriver(HOST, clock=clock)
    async with cluster() as c, node(c.client, WIN2022, [driver], clock):
        pod = windows_pod("greedy", "process", "10.0.20348", "alloc 2Gi; sleep infinity")
        pod.pod.spec.containers[0].resources.limits["memory"] = "64Mi"
        await c.client.create(pod)
        running = await eventually(c.client, "pod", "greedy", lambda p: p is not None and p.status.phase == "Running")
        assert running.status.container_statuses[0].restart_count == 0
        [handle] = await driver.list_tasks()
        assert (await driver.inspect(handle.task_id)).memory_used == 64 * 2**20
        lines = [line.text async for line in driver.logs(handle.task_id)]
        assert any("allocation failed" in line for line in lines)


@pytest.mark.parametrize(
    ("profile", "drivers", "pod_os", "reason"),
    [
        pytest.param(WIN2022, "windows", "linux", "PodOSNotSupported", id="a linux pod on a windows node fails"),
        pytest.param(NodeProfile(name="w22"), "linux", "windows", "PodOSNotSupported",
                     id="a windows pod on a linux node fails"),
    ],
)
async def test_an_os_mismatch_fails_the_pod_at_the_agent(
    profile: NodeProfile, drivers: str, pod_os: str, reason: str
) -> None:
    clock = ManualClock()
    driver = SimWindowsDriver(HOST, clock=clock) if drivers == "windows" else SimLinuxDriver(clock=clock)
    async with cluster() as c, node(c.client, profile, [driver], clock):
        pod = windows_pod("x", "process", "10.0.20348") if pod_os == "windows" else bound_pod("x", "w22")
        await c.client.create(pod)
        failed = await eventually(c.client, "pod", "x", lambda p: p is not None and p.status.phase == "Failed")
        assert failed.status.reason == reason
        assert await driver.list_tasks() == []


def _failed(pod: object) -> bool:
    return pod is not None and pod.status.phase == "Failed"  # type: ignore[attr-defined]


async def test_an_isolation_mode_the_node_does_not_offer_fails_the_pod() -> None:
    clock = ManualClock()
    process_only = SimWindowsDriver(WindowsHost(isolation=("process",)), clock=clock)
    async with cluster() as c, node(c.client, WIN2022, [process_only], clock):
        await c.client.create(windows_pod("vm-isolated", "hyperv", "10.0.20348"))
        failed = await eventually(c.client, "pod", "vm-isolated", _failed)
        assert failed.status.reason == "UnsupportedIsolation"
