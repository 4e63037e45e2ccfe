"""``sim-hypervisor``: virtual machines on a simulated type 1 or type 2 hypervisor.

Lifecycle: Provisioning -> Booting -> Running <-> Paused; stop sends ACPI power-off (the guest
shuts down after ``SimSettings.term_seconds``) and quits after the timeout; ``reboot`` restarts the
guest in place; scripts inject guest crashes (``crash``), clean shutdowns (``poweroff``) and
reboots. Type 2 (hosted) adds ``per_vm_overhead`` memory and boots ``type2_boot_factor`` times
slower than type 1. Run strategies are the agent's business: the driver only reports exits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from agent.drivers.protocol import (
    CannotRunError,
    Capabilities,
    DriverFingerprint,
    ExitResult,
    HypervisorFacts,
    TaskConfig,
)
from agent.drivers.sim.base import SimDriver, SimSettings
from agent.drivers.sim.task import SimTask
from atoll.clock import Clock

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

    @property
    def overhead(self) -> int:
        return self.per_vm_overhead + (self.type2_extra_overhead if self.type == "type2" else 0)


class SimHypervisorDriver(SimDriver):
    name = NAME

    def __init__(self, profile: HypervisorProfile | None = None, settings: SimSettings | None = None,
                 clock: Clock | None = None) -> None:
        super().__init__(settings, clock)
        self.profile = profile or HypervisorProfile()

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

    def console(self, task_id: str) -> AsyncIterator[str]:
        return self.logs(task_id, follow=True)
