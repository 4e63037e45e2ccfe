"""The live migration ability of a VM driver (QEMU over QMP, the simulated hypervisor), shaped like
the driver protocol (protocol.py): what each side does and what each error makes the agent do.

    target agent                                   source agent
    prepare_incoming(config) -> (handle, address)
      the receiving guest waits, paused, at address
                                                   migrate_out(task_id, address, params, report)
                                                     streams memory, report(progress) as it goes;
                                                     returns the final progress once the guest
                                                     runs on the target (the source guest stays
                                                     paused; the agent destroys it after the
                                                     switch-over)
                                                   cancel_migration(task_id): migrate_out raises
                                                     MigrationFailed(cancelled), the guest runs on
    destroy(task_id, force=True) when it ended        here as before
      without a switch-over

The received task has the id of the VM's current run, so after the switch-over the target's
runner adopts it like a task found at agent start (NodeContext.adopted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agent.drivers.protocol import DriverError, TaskConfig, TaskHandle


@dataclass(frozen=True)
class MigrationParams:
    """Set explicitly on every migration: the pause the guest may see at switch-over, the
    stream's bandwidth (bytes/s, 0: unlimited), whether to throttle a guest that dirties memory
    faster than it is sent (auto-converge), and how long to go on without progress."""

    downtime_limit_ms: int = 300
    bandwidth: int = 0
    auto_converge: bool = True
    postcopy: bool = False
    progress_timeout: float = 150.0


@dataclass(frozen=True)
class MigrationProgress:
    """The hypervisor's view of one migration (QEMU's query-migrate)."""

    bytes_total: int = 0
    bytes_transferred: int = 0
    bytes_remaining: int = 0
    dirty_rate: int = 0
    iterations: int = 0
    throughput: int = 0
    downtime_ms: int = 0
    completed: bool = False


class MigrationFailed(DriverError):
    """The migration ended without the guest moving; the guest runs on the source as before.
    ``reason`` is a migration failure reason of atoll/migrations.py."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


Report = Callable[[MigrationProgress], None]


@runtime_checkable
class LiveMigratable(Protocol):
    async def prepare_incoming(self, config: TaskConfig) -> tuple[TaskHandle, str]:
        """Start the receiving side of ``config``'s VM (same devices, disks and MAC as its
        source), paused until the stream arrives; returns its handle and the address the source
        sends to. Raises CannotRunError / StartError as ``start`` does; TaskExistsError when the
        task id is already held here."""

    async def migrate_out(
        self, task_id: str, address: str, params: MigrationParams, report: Report
    ) -> MigrationProgress:
        """Send the running task to ``address`` with ``params``; calls ``report`` with the progress
        at least once a second; returns the final progress once the guest runs on the target
        (``completed``). Raises MigrationFailed (the guest keeps running here), TaskNotFoundError."""

    async def follow_migration(self, task_id: str, params: MigrationParams, report: Report) -> MigrationProgress:
        """Follow an outgoing migration of ``task_id`` begun before this agent process started
        (the hypervisor streams on by itself) as ``migrate_out`` would; MigrationFailed when none
        runs, or it ended without completing."""

    async def cancel_migration(self, task_id: str) -> None:
        """Stop an outgoing migration of ``task_id`` (its ``migrate_out`` raises MigrationFailed);
        a no-op when none runs."""
