"""``sim-windows``: Windows containers on a host of one build, in the isolation modes it offers.

- process: the image build must be one the host accepts (windows_builds.mismatch); otherwise the
  container fails with Microsoft's text ``The operating system of the container does not match
  the operating system of the host (0xc0370101)``.
- hyperv: a utility VM per pod: ``utility_vm_memory`` more memory and ``utility_vm_boot`` seconds
  slower to start; images as new as the host or older.
- hostprocess: runs on the host, in the host network (the pod gets the host's IP).
Windows has no OOM killer: memory limits are job-object hard caps, so an allocation over the
limit fails inside the container and memory use stays at the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.drivers.protocol import CannotRunError, Capabilities, DriverFingerprint, TaskConfig
from agent.drivers.sim import windows_builds
from agent.drivers.sim.base import SimDriver, SimSettings
from agent.drivers.sim.task import SimTask
from atoll.clock import Clock

NAME = "sim-windows"
MIB = 1024 * 1024


@dataclass(frozen=True)
class WindowsHost:
    os_build: str = "10.0.20348"
    isolation: tuple[str, ...] = ("process", "hyperv")
    utility_vm_memory: int = 512 * MIB
    utility_vm_boot: float = 1.5


class SimWindowsDriver(SimDriver):
    name = NAME

    def __init__(self, host: WindowsHost | None = None, settings: SimSettings | None = None,
                 clock: Clock | None = None) -> None:
        super().__init__(settings, clock)
        self.host = host or WindowsHost()

    def capabilities(self) -> Capabilities:
        return Capabilities(kinds=frozenset({"container"}), os="windows", isolation=frozenset(self.host.isolation))

    async def fingerprint(self) -> DriverFingerprint:
        return DriverFingerprint(healthy=True, os_build=self.host.os_build, windows_isolation=self.host.isolation)

    def _admit(self, config: TaskConfig) -> None:
        if config.kind != "container" or config.os != "windows":
            raise CannotRunError(f"{NAME} runs Windows containers; this workload is a {config.os} {config.kind}")
        options = config.windows
        isolation = options.isolation if options else "process"
        if isolation not in self.host.isolation:
            raise CannotRunError(
                f"isolation {isolation} is not offered by this host (offers: {', '.join(self.host.isolation)})"
            )
        build = windows_builds.image_build(options.image_build if options else "", config.image)
        why = windows_builds.mismatch(self.host.os_build, build, isolation)
        if why:
            raise CannotRunError(f"{windows_builds.OS_MISMATCH}: {why}")

    def _isolation(self, config: TaskConfig) -> str:
        return config.windows.isolation if config.windows else "process"

    def _extra_latency(self, config: TaskConfig) -> float:
        return self.host.utility_vm_boot if self._isolation(config) == "hyperv" else 0.0

    def _base_memory(self, config: TaskConfig) -> int:
        return self.host.utility_vm_memory if self._isolation(config) == "hyperv" else 0

    def _ip(self, config: TaskConfig) -> str:
        if self._isolation(config) == "hostprocess":
            return self.settings.host_ip
        return super()._ip(config)

    def _over_limit(self, task: SimTask, at: float) -> None:
        task.log(f"allocation failed: job object memory limit {task.memory_limit} reached", at)
        task.memory_used = task.base_memory + task.memory_limit
