"""Optional driver abilities, one small protocol each; the agent checks with ``isinstance``.

Kept for the open issues that use them: ``Rebootable`` (restart a VM in place, keeping its
identity), ``Exec`` (``atoll exec``; exec probes) and ``Console`` (``atoll console vm/NAME``).
``SimulatedProbes``: a simulated runtime answers probes itself (agent/probes/checks.py).

A driver implements only the abilities its runtime has (Nomad's shape): the QEMU driver pauses
VMs over QMP, the OCI driver serves log files, a simulated driver synthesises logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class Pausable(Protocol):
    async def pause(self, task_id: str) -> None:
        """RUNNING -> PAUSED (freezer cgroup, QMP ``stop``); a no-op when already PAUSED.
        TaskNotFoundError if unknown; DriverError if the task is not RUNNING or PAUSED."""

    async def resume(self, task_id: str) -> None:
        """PAUSED -> RUNNING; a no-op when already RUNNING."""


@runtime_checkable
class Rebootable(Protocol):
    async def reboot(self, task_id: str) -> None:
        """Restart the guest in place (QMP ``system_reset``): the task stays, BOOTING then RUNNING."""


@runtime_checkable
class LogReader(Protocol):
    def logs(self, task_id: str, *, follow: bool = False, tail: int = -1) -> AsyncIterator[str]:
        """The task's output lines (stdout and stderr interleaved; a VM's serial console), the last
        ``tail`` of them (-1: all kept). With ``follow`` it keeps yielding new lines until the task
        exits. TaskNotFoundError if unknown (raised on first iteration)."""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str


@runtime_checkable
class Exec(Protocol):
    async def exec(self, task_id: str, argv: Sequence[str], timeout: float) -> ExecResult:
        """Run ``argv`` inside the running task and return its exit code and output. DriverError if
        the task is not RUNNING."""


@runtime_checkable
class Console(Protocol):
    def console(self, task_id: str) -> AsyncIterator[str]:
        """A VM's serial console from boot on, following until the VM stops."""


@runtime_checkable
class SimulatedProbes(Protocol):
    async def answer_probe(self, task_id: str, kind: str, handler: str, command: Sequence[str]) -> ExecResult:
        """Answer a ``kind`` probe (startup, liveness, readiness) with ``handler`` (exec,
        tcp_socket, http_get; ``command`` for exec) of a task whose processes and network are
        simulated: exit code 0 is success. TaskNotFoundError if unknown."""
