"""An agent restart adopts what its drivers still run: nothing restarted, nothing duplicated,
status continues; workloads deleted while it was down are stopped and released. Once in-process
(a new driver instance reading the simulated runtime's state file), once with kill -9 of a real
``atoll-agent`` process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.linux import SimLinuxDriver
from agent.registration import NodeProfile
from atoll.clock import ManualClock
from tests.integration.agent_harness import bound_pod, cluster, event_reasons, eventually, node, node_ipam

PROFILE = NodeProfile(name="n1")


def running(pod: object) -> bool:
    return pod is not None and pod.status.phase == "Running"  # type: ignore[attr-defined]


async def test_a_new_agent_adopts_running_containers_and_status_continues(tmp_path: Path) -> None:
    clock = ManualClock()
    state = SimSettings(state_file=tmp_path / "sim-linux.json")
    async with cluster() as c:
        async with node(c.client, PROFILE, [SimLinuxDriver(state, clock)], clock) as first:
            await c.client.create(bound_pod("web", "n1"))
            await c.client.create(bound_pod("job", "n1", "sleep 100; exit 0", restart_policy="Never"))
            await c.client.create(bound_pod("doomed", "n1"))
            before = {name: await eventually(c.client, "pod", name, running) for name in ("web", "job", "doomed")}
            await first.events.flush()
        await c.client.delete("pod", "doomed")  # while no agent runs: the finalizer holds it
        clock.advance(60)
        second_driver = SimLinuxDriver(state, clock)
        async with node(c.client, PROFILE, [second_driver], clock) as second:
            await eventually(c.client, "pod", "doomed", lambda p: p is None)
            for name in ("web", "job"):
                pod = await eventually(c.client, "pod", name, running)
                assert pod.status.container_statuses == before[name].status.container_statuses, (
                    f"pod {name}: same container, same start time, no restart"
                )
            clock.advance(40)
            done = await eventually(c.client, "pod", "job", lambda p: p.status.phase == "Succeeded")
            assert done.status.container_statuses[0].state.terminated.reason == "Completed"
            await second.events.flush()
            assert (await event_reasons(c.client, "web")).count("Started") == 1
            handles = await second_driver.list_tasks()
            phases = sorted([(await second_driver.inspect(h.task_id)).phase.value for h in handles])
            assert phases == ["Exited", "Running"], "web runs; job's ended task is kept (for its logs) until deletion"
            await c.client.delete("pod", "job")
            await eventually_gone(c.client, "job")
            assert len(await second_driver.list_tasks()) == 1, "deleting the pod destroyed its kept task"


async def eventually_gone(client: Any, name: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        items, _ = await client.list_all("pods", field_selector=f"metadata.name={name}")
        if not items:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"pod {name} was not deleted")


async def _wait_running(client: object, names: list[str]) -> None:
    for name in names:
        await eventually(client, "pod", name, running, timeout=20)  # type: ignore[arg-type]


async def test_kill_9_of_the_agent_process_then_restart_adopts_every_workload(tmp_path: Path) -> None:
    async with cluster() as c, node_ipam(c.api.address):
        argv = [sys.executable, "-m", "agent.main", "--server", c.api.address, "--node-name", "k9",
                "--driver", "sim-linux", "--state-dir", str(tmp_path), "--log-level", "ERROR"]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        agent = subprocess.Popen(argv, env=env)
        try:
            names = [f"w{i}" for i in range(3)]
            await eventually(c.client, "node", "k9", lambda n: n is not None, timeout=20, namespace="")
            for name in names:
                await c.client.create(bound_pod(name, "k9"))
            await _wait_running(c.client, names)
            before = {n: (await c.client.get("pod", n)).pod.status.container_statuses for n in names}
            addresses = {n: (await c.client.get("pod", n)).pod.status.pod_ip for n in names}
            assert len(set(addresses.values())) == 3 and "" not in addresses.values()
            agent.send_signal(signal.SIGKILL)
            agent.wait(10)
            agent = subprocess.Popen(argv, env=env)
            await c.client.create(bound_pod("after", "k9"))
            await _wait_running(c.client, ["after"])
            await asyncio.sleep(0.3)
            for name in names:
                now = (await c.client.get("pod", name)).pod.status.container_statuses
                assert now == before[name], f"pod {name} was restarted or rewritten by the new agent"
                assert (await c.client.get("pod", name)).pod.status.pod_ip == addresses[name], "kept on adoption"
            after = (await c.client.get("pod", "after")).pod.status.pod_ip
            assert after and after not in addresses.values(), "an adopted address is not handed out again"
            tasks = json.loads((tmp_path / "sim-linux.json").read_text())["tasks"]
            assert len(tasks) == 4, "one task per pod: none duplicated"
        finally:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()
