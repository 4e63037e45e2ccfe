"""``sim-hypervisor``: virtual machines on a simulated type 1 or type 2 hypervisor.

Lifecycle: Provisioning -> Booting -> Running <-> Paused; stop sends ACPI power-off (the guest
shuts down after ``SimSettings.term_seconds``) and quits after the timeout; ``reboot`` restarts the
guest in place; scripts inject guest crashes (``crash``), clean shutdowns (``poweroff``) and
reboots. Type 2 (hosted) adds ``per_vm_overhead`` memory and boots ``type2_boot_factor`` times
slower than type 1. Run strategies are the agent's business: the driver only reports exits.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.drivers.migration import MigrationFailed, MigrationParams, MigrationProgress, Report
from agent.drivers.protocol import (
    CannotRunError,
    Capabilities,
    DriverFingerprint,
    ExitResult,
    HypervisorFacts,
    TaskConfig,
    TaskHandle,
    TaskPhase,
)
from agent.drivers.session import ProcessSession
from agent.drivers.sim.base import SimDriver, SimSettings
from agent.drivers.sim.migration_model import GuestModel, passes
from agent.drivers.sim.shell import ScriptedSession, console
from agent.drivers.sim.task import SimTask
from atoll.clock import Clock
from atoll.migrations import REASON_CANCELLED, REASON_NOT_CONVERGING, REASON_SOURCE_FAILED
from atoll.quantity import parse_quantity

NAME = "sim-hypervisor"
MIB = 1024 * 1024


@dataclass(frozen=True)
class HypervisorProfile:
    type: str = "type1"
    name: str = "kvm"
    nested: bool = False
    guest_os: tuple[str, ...] = ("linux", "windows")
    boot_seconds: float = 2.0
    type2_boot_factor: float = 2.0
    per_vm_overhead: int = 64 * MIB
    type2_extra_overhead: int = 192 * MIB
    # Live migration (migration_model.py): the link's bytes per second.
    migration_bandwidth: int = 1024 * MIB

    @property
    def overhead(self) -> int:
        return self.per_vm_overhead + (self.type2_extra_overhead if self.type == "type2" else 0)


class SimHypervisorDriver(SimDriver):
    name = NAME

    def __init__(self, profile: HypervisorProfile | None = None, settings: SimSettings | None = None,
                 clock: Clock | None = None) -> None:
        super().__init__(settings, clock)
        self.profile = profile or HypervisorProfile()
        self._guests: dict[str, GuestModel] = {}  # task id -> its guest's migration model
        self._cancelled: set[str] = set()

    def capabilities(self) -> Capabilities:
        return Capabilities(
            kinds=frozenset({"vm"}), hypervisor_type=self.profile.type, guest_os=frozenset(self.profile.guest_os)
        )

    async def fingerprint(self) -> DriverFingerprint:
        profile = self.profile
        facts = HypervisorFacts(
            type=profile.type,
            name=profile.name,
            nested=profile.nested,
            guest_os=profile.guest_os,
            per_vm_overhead_memory=f"{profile.overhead // MIB}Mi",
            accelerator="sim",
            live_migration=True,
            cpu_models=SIM_CPU_MODELS,
        )
        return DriverFingerprint(healthy=True, hypervisor=facts)

    @property
    def hypervisor_label(self) -> str:
        """What a VM's status.hypervisor says runs it: sim-type1, sim-type2."""
        return f"sim-{self.profile.type}"

    def _admit(self, config: TaskConfig) -> None:
        if config.kind != "vm" or config.vm is None:
            raise CannotRunError(f"{NAME} runs virtual machines, not containers")
        wanted = config.vm.hypervisor_type
        if wanted not in ("", "any", self.profile.type):
            raise CannotRunError(
                f"the VM needs a {wanted} hypervisor; this node's {self.profile.name} is {self.profile.type}"
            )
        if config.vm.guest_os not in self.profile.guest_os:
            raise CannotRunError(
                f"{self.profile.name} here boots {', '.join(self.profile.guest_os)} guests, not {config.vm.guest_os}"
            )

    def _boot_seconds(self, config: TaskConfig) -> float:
        factor = self.profile.type2_boot_factor if self.profile.type == "type2" else 1.0
        return self.profile.boot_seconds * factor

    def _base_memory(self, config: TaskConfig) -> int:
        return (config.vm.memory if config.vm else 0) + self.profile.overhead

    def _term_exit(self, task: SimTask, at: float) -> ExitResult:
        return ExitResult(0, "Stopped", at, message="guest powered off (ACPI)")

    def _kill_exit(self, task: SimTask, at: float) -> ExitResult:
        return ExitResult(137, "Killed", at, signal=9, message="guest did not power off in time; quit")

    def _crash_exit(self, task: SimTask, at: float) -> ExitResult:
        return ExitResult(1, "GuestCrashed", at, message="guest crashed (panic)")

    def _poweroff_exit(self, task: SimTask, at: float) -> ExitResult:
        return ExitResult(0, "GuestShutdown", at, message="guest shut down")

    async def pause(self, task_id: str) -> None:
        self._pause(task_id)

    async def resume(self, task_id: str) -> None:
        self._resume(task_id)

    async def reboot(self, task_id: str) -> None:
        self._reboot(task_id)

    async def open_console(self, task_id: str) -> ProcessSession:
        """A scripted serial console (agent/drivers/sim/shell.py): a login prompt, then a shell.
        Each session is a login of its own (a simulated guest has no shared input to contend for)."""
        task = self._running_task(task_id, "open the console")
        return ScriptedSession(lambda io: console(io, self._machine(task)), tty=True)

    # --- live migration (agent/drivers/migration.py) ----------------------------------------------

    async def prepare_incoming(self, config: TaskConfig) -> tuple[TaskHandle, str]:
        """A task that runs the guest as soon as it exists (the state arrives with the stream;
        nobody inspects it before the switch-over)."""
        handle = await self.start(config)
        task = self._task(config.task_id)
        task.ready_at, task.boot_seconds = self.clock.now(), 0.0
        task.log("incoming live migration", self.clock.now())
        self._advance(config.task_id)
        return handle, f"sim:{config.task_id}"

    async def start(self, config: TaskConfig) -> TaskHandle:
        handle = await super().start(config)
        self._guests[config.task_id] = _guest_model(config, self.profile.migration_bandwidth)
        return handle

    async def destroy(self, task_id: str, force: bool = False) -> None:
        await super().destroy(task_id, force)
        if task_id not in self._tasks:
            self._guests.pop(task_id, None)
            self._cancelled.discard(task_id)

    async def migrate_out(
        self, task_id: str, address: str, params: MigrationParams, report: Report
    ) -> MigrationProgress:
        """Sleeps through the passes of migration_model.py, reporting each second; the guest
        pauses here once it completed."""
        task = self._task(task_id)
        if task.phase is not TaskPhase.RUNNING:
            raise MigrationFailed(REASON_SOURCE_FAILED, f"the guest is {task.phase.value}, not Running")
        memory = max(0, task.base_memory - self.profile.overhead)  # a task adopted after a restart
        guest = self._guests.get(task_id) or GuestModel(memory, memory // 32, self.profile.migration_bandwidth)
        if params.bandwidth:
            guest = GuestModel(guest.memory, guest.dirty_rate, min(guest.bandwidth, params.bandwidth))
        self._cancelled.discard(task_id)
        stalled = 0.0
        progress = MigrationProgress(bytes_total=guest.memory, bytes_remaining=guest.memory)
        for step in passes(guest, params.downtime_limit_ms, params.auto_converge):
            left = step.seconds
            while left > 0:
                await self.clock.sleep(min(1.0, left))
                left -= 1.0
                if task_id in self._cancelled:
                    raise MigrationFailed(REASON_CANCELLED, "migration cancelled")
                if task.exit is not None:
                    raise MigrationFailed(REASON_SOURCE_FAILED, "the guest ended during the migration")
                report(progress)
            stalled = 0.0 if step.progressed else stalled + step.seconds
            progress = MigrationProgress(
                bytes_total=guest.memory, bytes_transferred=step.transferred, bytes_remaining=step.remaining,
                dirty_rate=step.dirty_rate, iterations=step.iteration,
                throughput=guest.bandwidth, downtime_ms=step.downtime_ms, completed=bool(step.downtime_ms),
            )
            report(progress)
            if progress.completed:
                self._pause(task_id)
                task.log(f"migrated to {address} (downtime {step.downtime_ms} ms)", self.clock.now())
                return progress
            if stalled >= params.progress_timeout:
                raise MigrationFailed(
                    REASON_NOT_CONVERGING,
                    f"the guest dirties {step.dirty_rate >> 20} MiB/s, the link sends {guest.bandwidth >> 20} MiB/s: "
                    f"no progress for {params.progress_timeout:g}s"
                    + ("" if params.auto_converge else " (auto-converge off)"),
                )
        raise AssertionError("passes() ends with the final pass")

    async def follow_migration(self, task_id: str, params: MigrationParams, report: Report) -> MigrationProgress:
        """A simulated stream lives in the agent that ran it: none survives a restart."""
        raise MigrationFailed(REASON_SOURCE_FAILED, "the simulated stream ended with the agent process that ran it")

    async def cancel_migration(self, task_id: str) -> None:
        self._cancelled.add(task_id)


SIM_CPU_MODELS = ("host", "qemu64", "Haswell", "Skylake-Server")
DIRTY_RATE_ANNOTATION = "sim.atoll.dev/dirty-rate"


def _guest_model(config: TaskConfig, bandwidth: int) -> GuestModel:
    """The VM's memory; its dirty rate from the annotation (bytes per second, a quantity), else
    1/32 of its memory per second."""
    memory = config.vm.memory if config.vm else 0
    text = config.annotation(DIRTY_RATE_ANNOTATION)
    try:
        dirty = int(parse_quantity(text)) if text else memory // 32
    except ValueError:
        dirty = memory // 32
    return GuestModel(memory, dirty, bandwidth)
