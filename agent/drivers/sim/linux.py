"""``sim-linux``: Linux containers with namespace and cgroup semantics modelled.

Memory over ``limits.memory`` is OOM-killed (exit 137, OOMKilled); a script's ``exit N`` ends
with code N; output is synthetic log lines. Windows pods and VMs are refused.
"""

from __future__ import annotations

from agent.drivers.protocol import CannotRunError, Capabilities, TaskConfig
from agent.drivers.sim.base import SimDriver

NAME = "sim-linux"


class SimLinuxDriver(SimDriver):
    name = NAME

    def capabilities(self) -> Capabilities:
        return Capabilities(kinds=frozenset({"container"}), os="linux")

    def _admit(self, config: TaskConfig) -> None:
        if config.kind != "container":
            raise CannotRunError(f"{NAME} runs containers, not virtual machines")
        if config.os != "linux":
            raise CannotRunError(f"{NAME} runs Linux containers; this pod's os is {config.os}")

    async def pause(self, task_id: str) -> None:
        self._pause(task_id)

    async def resume(self, task_id: str) -> None:
        self._resume(task_id)
