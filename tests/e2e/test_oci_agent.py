"""Real containers through the node agent: a pod bound to a host node running the oci driver
runs, reports its exit code and OOM kills in its status, and survives an agent restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.drivers.oci import OciDriver, OciSettings
from agent.registration import NodeProfile
from agent.run import start_node
from atoll.clock import SystemClock
from tests.e2e.conftest import BUSYBOX_IMAGE, OciFactory
from tests.integration.agent_harness import bound_pod, cluster, eventually

NODE = NodeProfile(name="real-1", cpu="2", memory="8Gi")


def pod(name: str, *command: str, memory_limit: str = "", restart_policy: str = "Never") -> Any:
    obj = bound_pod(name, NODE.name, restart_policy=restart_policy)
    main = obj.pod.spec.containers[0]
    main.image = BUSYBOX_IMAGE
    main.command.extend(command)
    if memory_limit:
        main.resources.limits["memory"] = main.resources.requests["memory"] = memory_limit
    return obj


def terminated(reason: str) -> Any:
    return lambda p: (p is not None and p.status.container_statuses
                      and p.status.container_statuses[0].state.terminated.reason == reason)


async def test_pods_on_a_real_node_run_and_report_exit_codes_and_oom_kills(oci: OciFactory) -> None:
    async with cluster() as c:
        running = await start_node(c.client, NODE, [oci()], clock=SystemClock(), config=AgentConfig())
        try:
            await c.client.create(pod("fails", "sh", "-c", "exit 3"))
            await c.client.create(pod("hog", "sh", "-c", "x=0123456789; while true; do x=$x$x; done",
                                      memory_limit="16Mi"))
            await c.client.create(pod("serves", "sleep", "600"))
            failed = await eventually(c.client, "pod", "fails", terminated("Error"), timeout=20)
            assert failed.status.container_statuses[0].state.terminated.exit_code == 3
            assert failed.status.phase == "Failed"
            await eventually(c.client, "pod", "hog", terminated("OOMKilled"), timeout=20)
            await eventually(c.client, "pod", "serves", lambda p: p.status.phase == "Running", timeout=20)
        finally:
            await running.close()


async def test_a_running_pod_is_adopted_by_a_restarted_agent_without_a_restart(
    oci: OciFactory, tmp_path: Path, image_dir: Path
) -> None:
    async with cluster() as c:
        first_driver = oci()
        first = await start_node(c.client, NODE, [first_driver], clock=SystemClock(), config=AgentConfig())
        await c.client.create(pod("serves", "sleep", "600"))
        before = await eventually(c.client, "pod", "serves", lambda p: p.status.phase == "Running", timeout=20)
        await first.close()
        await first_driver.close()  # the agent process ends; the container does not
        second_driver = OciDriver(OciSettings(state_dir=tmp_path / "oci", image_dir=image_dir,
                                              cgroup_parent=first_driver.settings.cgroup_parent))
        second = await start_node(c.client, NODE, [second_driver], clock=SystemClock(), config=AgentConfig())
        try:
            after = await eventually(c.client, "pod", "serves", lambda p: p.status.phase == "Running", timeout=20)
            assert after.status.container_statuses[0].restart_count == 0
            assert after.status.start_time == before.status.start_time
            assert [handle.task_id for handle in await second_driver.list_tasks()] == [
                f"{before.metadata.uid}:main"]
            assert (await second_driver.inspect(f"{before.metadata.uid}:main")).phase.value == "Running"
        finally:
            await second.close()
