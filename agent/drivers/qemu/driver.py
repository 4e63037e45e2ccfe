"""``qemu``: real virtual machines run by qemu-system-x86_64 and controlled over QMP.

start: the run's disks (qcow2 overlays over images, blank disks: disks.py) and cloud-init seed
(cloud_init.py) in the task dir -> QEMU daemonized, guest running -> QMP connect, run state
caught up (a power-off or panic before the connection is seen there) -> BOOTING; the serial
console is followed and the boot marker makes the VM RUNNING (guest booted),
or ``boot_timeout`` passes without it. QMP events drive the rest: SHUTDOWN (guest power-off:
GuestShutdown; after our ACPI request: Stopped), GUEST_PANICKED or a panic on the console
(GuestCrashed), RESET (BOOTING again). The driver then sends ``quit``; QEMU's exit (a pidfd)
ends the task and exit.json records why. Run strategies are the agent's business.
Adoption: ``recover`` reconnects to the VM's QMP socket and asks ``query-status``.
Network (with ``QemuSettings.network``): before QEMU starts, the VM gets a tap on the node's pod
bridge and an address from the pods' IPAM pool (network.py), recorded in its task dir; the tap and
the address are released with the task (``destroy``, or a failed start), kept on adoption, and
the first ``list_tasks`` of a driver releases what crashed agents left behind. A directly booted
guest is told its address by the kernel's ``ip=``; others ask by DHCP, which the driver answers
on the bridge for its VMs' MACs (dhcp.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.drivers import logfile
from agent.drivers.abilities import ALL_LINES, PreviousLogNotFoundError
from agent.drivers.log_lines import LogLine, LogQuery
from agent.drivers.migration import MigrationFailed, MigrationParams, MigrationProgress, Report
from agent.drivers.previous_logs import PreviousLogs
from agent.drivers.proc import ExitWatch, process_matches, run_command
from agent.drivers.protocol import (
    CannotRunError,
    Capabilities,
    DriverError,
    DriverFingerprint,
    ExitResult,
    Listener,
    StartError,
    TaskConfig,
    TaskExistsError,
    TaskHandle,
    TaskNotFoundError,
    TaskPhase,
    TaskRunningError,
    TaskStatus,
    VmOptions,
)
from agent.drivers.qemu import migration as qemu_migration
from agent.drivers.qemu.cloud_init import build_seed
from agent.drivers.qemu.command import VmPaths, qemu_argv
from agent.drivers.qemu.console import ConsoleWatch
from agent.drivers.qemu.dhcp import Binding, DhcpServer
from agent.drivers.qemu.disks import Drive, make_run_disks
from agent.drivers.qemu.links import in_netns
from agent.drivers.qemu.monitor import Monitor, MonitorError
from agent.drivers.qemu.network import VmNetwork, VmNetworkSettings
from agent.drivers.qemu.nic import Nic
from agent.drivers.qemu.record import (
    VmRecord,
    load_exit,
    load_nic,
    load_record,
    qmp_socket_path,
    save_exit,
    save_record,
)
from agent.drivers.qemu.serial_console import ConsoleUnavailableError, SerialConsoles
from agent.drivers.session import ProcessSession
from agent.drivers.task_names import host_name_for
from agent.host import acceleration as accel_probe
from agent.host.acceleration import Acceleration
from atoll.migrations import REASON_SOURCE_FAILED
from atoll.vm_host_paths import HostPathError, resolve_vm_path

log = logging.getLogger(__name__)

NAME = "qemu"
SETTLE_TIMEOUT = 15.0
CONSOLE_POLL = 0.02


@dataclass(frozen=True)
class QemuSettings:
    """``accel``: auto (probe), kvm or tcg. ``boot_timeout``: seconds after which a VM whose
    console never showed its boot marker is reported RUNNING anyway (guest_booted stays False).
    ``vm_image_dirs``: the only directories whose files a VM may use as kernel, initrd or disk
    image (atoll/vm_host_paths.py); none by default. ``network``: the node's pod network, on which
    every VM gets a virtio-net interface (None: VMs have no network device)."""

    state_dir: Path
    vm_image_dirs: tuple[Path, ...] = ()
    network: VmNetworkSettings | None = None
    name: str = NAME
    qemu: str = "qemu-system-x86_64"
    qemu_img: str = "qemu-img"
    genisoimage: str = "genisoimage"
    accel: str = "auto"
    boot_timeout: float = 120.0
    per_vm_overhead_mib: int = accel_probe.DEFAULT_PER_VM_OVERHEAD_MIB
    # Where the receiving side of a live migration listens (the source's QEMU connects there).
    migration_host: str = "127.0.0.1"


@dataclass
class _Vm:
    record: VmRecord
    paths: VmPaths
    console: ConsoleWatch
    nic: Nic | None = None
    phase: TaskPhase = TaskPhase.BOOTING
    guest_booted: bool = False
    exit: ExitResult | None = None
    pending: ExitResult | None = None
    stop_requested: bool = False
    phase_before_pause: TaskPhase = TaskPhase.RUNNING
    boot_timer: asyncio.TimerHandle | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    monitor: Monitor | None = None
    process_watch: ExitWatch | None = None
    console_task: asyncio.Task[None] | None = None
    quitting: asyncio.Task[None] | None = None
    # The receiving side of a live migration until its guest resumes here (migration.py).
    incoming: bool = False


class QemuDriver:
    def __init__(self, settings: QemuSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self._tasks_dir = settings.state_dir / "tasks"
        self._vms: dict[str, _Vm] = {}
        self._listener: Listener = lambda task_id: None
        self._acceleration: Acceleration | None = None
        self._probe_reason = ""
        self._network = VmNetwork(settings.network) if settings.network else None
        self._starting: set[Path] = set()  # task dirs of starts in progress (no task.json yet)
        self._swept = False
        self._dhcp: DhcpServer | None = None
        self._consoles = SerialConsoles()
        self._previous = PreviousLogs(settings.state_dir / "previous-logs")

    # --- facts -------------------------------------------------------------------------------

    @property
    def acceleration(self) -> Acceleration | None:
        """What the last fingerprint found (None before the first one, or when nothing works)."""
        return self._acceleration

    @property
    def hypervisor_label(self) -> str:
        """What a VM's status.hypervisor says runs it: qemu-kvm or qemu-tcg."""
        return self._acceleration.hypervisor_name if self._acceleration else self.name

    def capabilities(self) -> Capabilities:
        acceleration = self._acceleration
        return Capabilities(
            kinds=frozenset({"vm"}),
            hypervisor_type=acceleration.hypervisor_type if acceleration else "",
            guest_os=frozenset(accel_probe.guest_os(acceleration) if acceleration else ("linux",)),
        )

    async def fingerprint(self) -> DriverFingerprint:
        if shutil.which(self.settings.qemu) is None:
            return DriverFingerprint(healthy=False, reason=f"{self.settings.qemu} not found: install qemu-system-x86")
        if shutil.which(self.settings.qemu_img) is None:
            return DriverFingerprint(healthy=False, reason=f"{self.settings.qemu_img} not found: install qemu-utils")
        missing = self._network.missing_tools() if self._network else ""
        if missing:
            return DriverFingerprint(healthy=False, reason=missing)
        acceleration, why = await self._detect()
        self._acceleration, self._probe_reason = acceleration, why
        if acceleration is None:
            return DriverFingerprint(healthy=False, reason=why)
        facts = accel_probe.hypervisor_facts(acceleration, self.settings.per_vm_overhead_mib)
        return DriverFingerprint(healthy=True, reason=facts.reason, hypervisor=facts)

    async def _detect(self) -> tuple[Acceleration | None, str]:
        forced = {"kvm": accel_probe.KVM, "tcg": accel_probe.TCG}.get(self.settings.accel)
        if forced is None:
            return await accel_probe.detect(self.settings.qemu)
        ok, why = await accel_probe.boots(self.settings.qemu, forced)
        return (forced, "") if ok else (None, f"{forced.accel} probe guest failed: {why}")

    def set_listener(self, listener: Listener) -> None:
        self._listener = listener

    def set_pod_cidr(self, cidr: str) -> bool:
        """The node's pod CIDR, for the addresses of VMs started from now on; True when it changed
        (VMs waiting with NetworkNotReady can start). Without a network setting: always False."""
        return self._network.set_pod_cidr(cidr) if self._network else False

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, config: TaskConfig) -> TaskHandle:
        return await self._launch(config, incoming=False)

    async def _launch(self, config: TaskConfig, incoming: bool) -> TaskHandle:
        """``start``, or with ``incoming`` the receiving side of a live migration."""
        task_dir = self._tasks_dir / host_name_for(config.task_id)
        if config.task_id in self._vms or task_dir.exists():
            raise TaskExistsError(f"task {config.task_id} exists; destroy it before starting it again")
        config = replace(config, vm=self._on_host(config.vm))
        acceleration = await self._admit(config)
        console = ConsoleWatch.for_config(config)
        task_dir.mkdir(parents=True)
        self._starting.add(task_dir)
        paths = VmPaths(task_dir, qmp_socket_path(task_dir))
        try:
            assert config.vm is not None  # _admit
            drives = await make_run_disks(self.settings.qemu_img, config.vm.disks, task_dir)
            if config.vm.cloud_init is not None:
                seed = await build_seed(self.settings.genisoimage, config.vm.cloud_init, task_dir)
                drives.append(Drive(seed, "raw", read_only=True))
            nic = await self._network.attach(task_dir, config) if self._network else None
            await self._serve_dhcp()
            argv = qemu_argv(self.settings.qemu, config, acceleration, paths, drives, nic, incoming)
            if self._network is not None:  # QEMU opens the tap where it lives: in the node's namespace
                argv = [*in_netns(self._network.settings.node_netns), *argv]
            started_at = time.time()
            done = await run_command(argv, timeout=60)
            if done.returncode != 0:
                raise StartError(f"qemu: {done.error_line}")
            pid = int(paths.pidfile.read_text().strip())
            record = VmRecord(config.task_id, started_at, pid, str(paths.qmp), acceleration.accel,
                              console.marker.pattern)
            save_record(task_dir, record)
            vm = _Vm(record, paths, console, nic, incoming=incoming)
            await self._attach(vm)
            assert vm.monitor is not None
            self._catch_up(vm, await vm.monitor.status())
        except BaseException:
            await self._discard(task_dir)
            raise
        finally:
            self._starting.discard(task_dir)
        self._vms[config.task_id] = vm
        return self._handle(vm)

    async def _admit(self, config: TaskConfig) -> Acceleration:
        vm = config.vm
        if config.kind != "vm" or vm is None:
            raise CannotRunError(f"{self.name} runs virtual machines, not containers")
        if self._acceleration is None:
            self._acceleration, self._probe_reason = await self._detect()
        acceleration = self._acceleration
        if acceleration is None:
            raise CannotRunError(f"no working QEMU acceleration here: {self._probe_reason}")
        if vm.hypervisor_type not in ("", "any", acceleration.hypervisor_type):
            raise CannotRunError(
                f"the VM needs a {vm.hypervisor_type} hypervisor; this node's {acceleration.hypervisor_name} "
                f"is {acceleration.hypervisor_type}"
            )
        if vm.guest_os not in self.capabilities().guest_os:
            raise CannotRunError(f"{acceleration.hypervisor_name} here runs linux guests, not {vm.guest_os}")
        return acceleration

    def _on_host(self, vm: VmOptions | None) -> VmOptions | None:
        """``vm`` with its kernel, initrd and disk images replaced by their real paths, which QEMU
        gets instead; CannotRunError naming the field when one is not a file VMs may use here.
        Checked before anything else, so a refused path never reaches QEMU or qemu-img."""
        if vm is None:
            return None

        def real(field: str, path: str) -> str:
            if not path:
                return path
            try:
                return resolve_vm_path(path, self.settings.vm_image_dirs)
            except HostPathError as err:
                raise CannotRunError(f"{field}: {err}") from None

        return replace(
            vm,
            kernel=real("spec.boot.kernel", vm.kernel),
            initrd=real("spec.boot.initrd", vm.initrd),
            disks=tuple(replace(disk, image=real(f"spec.disks[{index}].image", disk.image))
                        for index, disk in enumerate(vm.disks)),
        )

    async def _attach(self, vm: _Vm) -> None:
        """Connect QMP, follow events, the console and the QEMU process."""
        monitor = Monitor(vm.record.task_id)
        await monitor.connect(Path(vm.record.qmp))
        vm.monitor = monitor
        monitor.on_events(lambda name, data: self._on_event(vm, name, data))
        vm.process_watch = ExitWatch(vm.record.pid, lambda: self._qemu_exited(vm))
        vm.console_task = asyncio.create_task(self._follow_console(vm), name=f"console-{vm.record.task_id}")
        self._arm_boot_timer(vm)

    async def wait(self, task_id: str) -> ExitResult:
        vm = self._vm(task_id)
        await vm.done.wait()
        assert vm.exit is not None
        return vm.exit

    async def stop(self, task_id: str, timeout: float) -> ExitResult:
        vm = self._vm(task_id)
        if vm.exit is None and not vm.stop_requested:
            vm.stop_requested = True
            was_paused = vm.phase is TaskPhase.PAUSED
            vm.phase = TaskPhase.STOPPING
            try:
                if was_paused:
                    await self._command(vm, "cont")
                await self._command(vm, "system_powerdown")
                async with asyncio.timeout(max(0.0, timeout)):
                    await vm.done.wait()
            except (TimeoutError, MonitorError):
                self._force_quit(vm, ExitResult(137, "Killed", time.time(), signal.SIGKILL,
                                                 f"guest did not power off within {timeout:g}s; quit"))
        try:
            async with asyncio.timeout(SETTLE_TIMEOUT):
                return await self.wait(task_id)
        except TimeoutError:
            raise DriverError(f"VM {task_id} did not end after quit") from None

    async def destroy(self, task_id: str, force: bool = False) -> None:
        vm = self._vms.get(task_id)
        if vm is None:
            await self._discard(self._tasks_dir / host_name_for(task_id))
            return
        if vm.exit is None:
            if not force:
                raise TaskRunningError(f"task {task_id} is {vm.phase.value}; stop it or destroy with force")
            vm.stop_requested = True
            self._force_quit(vm, ExitResult(137, "Killed", time.time(), signal.SIGKILL, "destroyed while running"))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SETTLE_TIMEOUT):
                    await vm.done.wait()
        await self._release(vm)
        await self._discard(vm.paths.dir)
        del self._vms[task_id]

    async def _discard(self, task_dir: Path) -> None:
        """Kill a VM's QEMU if it still runs, release its tap and address, remove its QMP socket
        (which may live outside the task dir) and the task dir."""
        record = load_record(task_dir)
        if record is not None and process_matches(record.pid, record.qmp):
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.pid, signal.SIGKILL)
        if self._network is not None:
            await self._network.detach(task_dir)
        for socket in {qmp_socket_path(task_dir), *([Path(record.qmp)] if record else [])}:
            with contextlib.suppress(FileNotFoundError):
                socket.unlink()
        await asyncio.to_thread(shutil.rmtree, task_dir, True)

    async def inspect(self, task_id: str) -> TaskStatus:
        vm = self._vm(task_id)
        return TaskStatus(task_id, vm.phase, vm.record.started_at, vm.exit, guest_booted=vm.guest_booted,
                          ip=vm.nic.ip if vm.nic and vm.exit is None else "")

    # --- adoption ----------------------------------------------------------------------------

    async def list_tasks(self) -> list[TaskHandle]:
        if not self._swept:
            await self._sweep()
        handles = {task_id: self._handle(vm) for task_id, vm in self._vms.items()}
        if self._tasks_dir.is_dir():
            for path in self._task_dirs():
                record = load_record(path)
                if record is not None and record.task_id not in handles:
                    handles[record.task_id] = TaskHandle(record.task_id, self.name, record.started_at,
                                                         {"pid": str(record.pid), "qmp": record.qmp})
        return list(handles.values())

    async def recover(self, handle: TaskHandle) -> bool:
        if handle.task_id in self._vms:
            return True
        task_dir = self._tasks_dir / host_name_for(handle.task_id)
        record = load_record(task_dir)
        if record is None:
            return False
        vm = _Vm(record, VmPaths(task_dir, Path(record.qmp)), ConsoleWatch(re.compile(record.boot_marker)),
                 load_nic(task_dir))
        self._vms[record.task_id] = vm
        recorded = load_exit(task_dir)
        if recorded is None and not process_matches(record.pid, record.qmp):
            recorded = ExitResult(137, "Killed", time.time(), message="QEMU ended while no agent was watching")
            save_exit(task_dir, recorded)
        if recorded is not None:
            vm.exit, vm.phase = recorded, TaskPhase.EXITED
            vm.done.set()
        else:
            await self._adopt(vm)
            await self._serve_dhcp()
        self._listener(record.task_id)
        return True

    async def _sweep(self) -> None:
        """Once per driver, before adoption: discard task dirs that a crashed start left without a
        launch record (their tap and address included), then release VM taps and addresses that
        no task dir names."""
        self._swept = True
        for task_dir in self._task_dirs():
            if load_record(task_dir) is None and task_dir not in self._starting:
                await self._discard(task_dir)
        if self._network is not None:
            try:
                for released in await self._network.sweep(self._task_dirs):
                    log.info("qemu: released %s, which no VM holds", released)
            except DriverError as err:  # adoption goes on; the next agent start sweeps again
                log.warning("qemu: releasing leftover taps and addresses failed: %s", err)

    def _task_dirs(self) -> list[Path]:
        return sorted(self._tasks_dir.iterdir()) if self._tasks_dir.is_dir() else []

    async def _adopt(self, vm: _Vm) -> None:
        await self._attach(vm)
        assert vm.monitor is not None
        status = await vm.monitor.status()
        text = logfile.read_text(vm.paths.console)
        vm.guest_booted = any(vm.console.booted(line) for line in text.splitlines())
        vm.phase = TaskPhase.RUNNING if vm.guest_booted else TaskPhase.BOOTING
        if status == "paused":
            vm.phase_before_pause, vm.phase = vm.phase, TaskPhase.PAUSED
        else:
            self._catch_up(vm, status)

    def _catch_up(self, vm: _Vm, status: str) -> None:
        """Acts on a run state read after attaching: what the guest did before QMP was connected."""
        if status == "shutdown":
            self._force_quit(vm, ExitResult(0, "GuestShutdown", time.time(), message="guest shut down"))
        elif status in ("guest-panicked", "internal-error"):
            self._force_quit(vm, ExitResult(1, "GuestCrashed", time.time(), message=f"QEMU run state {status}"))

    async def close(self) -> None:
        """Disconnect from every VM and forget them, touching none (what an agent exit does; a
        later driver on the same state dir adopts them over QMP); stop answering DHCP."""
        for vm in list(self._vms.values()):
            await self._release(vm)
        self._vms.clear()
        if self._dhcp is not None:
            self._dhcp.close()
            self._dhcp = None

    # --- DHCP --------------------------------------------------------------------------------

    async def _serve_dhcp(self) -> None:
        """Answer DHCP on the node bridge (once it exists) for the VMs of this driver: guests that
        boot from a disk learn their address so. A failure to listen (port 67 taken) is logged
        and tried again with the next VM; guests booted with ``ip=`` do not need it."""
        if self._network is None or self._dhcp is not None:
            return
        try:
            settings = self._network.settings
            self._dhcp = await DhcpServer.start(settings.bridge, self._binding, settings.node_netns)
        except OSError as err:
            log.warning("qemu: cannot answer DHCP on %s: %s", self._network.settings.bridge, err)

    def _binding(self, mac: str) -> Binding | None:
        for vm in self._vms.values():
            if vm.nic is not None and vm.nic.mac == mac and vm.exit is None and vm.nic.address:
                return Binding(vm.nic.address, vm.nic.gateway, vm.nic.hostname)
        return None

    # --- abilities ---------------------------------------------------------------------------

    async def pause(self, task_id: str) -> None:
        vm = self._vm(task_id)
        if vm.phase is TaskPhase.PAUSED:
            return
        if vm.phase is not TaskPhase.RUNNING:
            raise DriverError(f"task {task_id} is {vm.phase.value}: only a Running VM can be paused")
        await self._command(vm, "stop")
        vm.phase_before_pause, vm.phase = vm.phase, TaskPhase.PAUSED

    async def resume(self, task_id: str) -> None:
        vm = self._vm(task_id)
        if vm.phase is not TaskPhase.PAUSED:
            return
        await self._command(vm, "cont")
        vm.phase = vm.phase_before_pause

    async def reboot(self, task_id: str) -> None:
        vm = self._vm(task_id)
        if vm.phase not in (TaskPhase.RUNNING, TaskPhase.BOOTING):
            raise DriverError(f"task {task_id} is {vm.phase.value}: only a Running VM can reboot")
        await self._command(vm, "system_reset")
        self._rebooting(vm)

    async def logs(self, task_id: str, query: LogQuery = ALL_LINES) -> AsyncIterator[LogLine]:
        if query.previous:
            path = self._previous.path(task_id)
            if not path.exists():
                raise PreviousLogNotFoundError(f"{self.name}: no console log of task {task_id} is kept")
            lines = logfile.plain_lines(path, replace(query, follow=False), ended=lambda: True)
        else:
            vm = self._vm(task_id)
            lines = logfile.plain_lines(vm.paths.console, query, ended=lambda: vm.exit is not None)
        async for line in lines:
            yield line

    async def keep_previous_log(self, task_id: str) -> None:
        vm = self._vms.get(task_id)
        if vm is not None and vm.exit is None:
            raise TaskRunningError(f"task {task_id} is {vm.phase.value}: its console is still being written")
        console = vm.paths.console if vm else VmPaths(self._tasks_dir / host_name_for(task_id), Path()).console
        self._previous.keep(task_id, console)

    async def forget_logs(self, task_id: str) -> None:
        self._previous.forget(task_id)

    async def remove_orphan_logs(self, is_live: Callable[[str], bool]) -> list[str]:
        return self._previous.remove_orphans(is_live)

    async def open_console(self, task_id: str) -> ProcessSession:
        vm = self._vm(task_id)
        if vm.phase not in (TaskPhase.RUNNING, TaskPhase.BOOTING, TaskPhase.PAUSED):
            raise DriverError(f"task {task_id} is {vm.phase.value}: no console to open")
        try:
            return await self._consoles.attach(vm.paths.console_socket)
        except ConsoleUnavailableError as err:
            raise DriverError(str(err)) from None

    # --- live migration (agent/drivers/migration.py, qemu/migration.py) ---------------------------

    async def prepare_incoming(self, config: TaskConfig) -> tuple[TaskHandle, str]:
        handle = await self._launch(config, incoming=True)
        vm = self._vm(config.task_id)
        assert vm.monitor is not None
        try:
            address = await qemu_migration.listen_incoming(vm.monitor, self.settings.migration_host)
        except MonitorError as err:
            await self.destroy(config.task_id, force=True)
            raise StartError(f"cannot receive the migration: {err}") from None
        return handle, address

    async def migrate_out(
        self, task_id: str, address: str, params: MigrationParams, report: Report
    ) -> MigrationProgress:
        vm = self._vm(task_id)
        if vm.monitor is None or vm.exit is not None:
            raise MigrationFailed(REASON_SOURCE_FAILED, f"VM {task_id} is not running")
        return await qemu_migration.send(vm.monitor, address, params, report)

    async def follow_migration(self, task_id: str, params: MigrationParams, report: Report) -> MigrationProgress:
        vm = self._vm(task_id)
        if vm.monitor is None or vm.exit is not None:
            raise MigrationFailed(REASON_SOURCE_FAILED, f"VM {task_id} is not running")
        return await qemu_migration.follow(vm.monitor, params, report)

    async def cancel_migration(self, task_id: str) -> None:
        vm = self._vms.get(task_id)
        if vm is not None and vm.monitor is not None:
            with contextlib.suppress(MonitorError):
                await qemu_migration.cancel(vm.monitor)

    # --- machinery ---------------------------------------------------------------------------

    def _vm(self, task_id: str) -> _Vm:
        vm = self._vms.get(task_id)
        if vm is None:
            raise TaskNotFoundError(f"{self.name}: no task {task_id}")
        return vm

    def _handle(self, vm: _Vm) -> TaskHandle:
        return TaskHandle(vm.record.task_id, self.name, vm.record.started_at,
                          {"pid": str(vm.record.pid), "qmp": vm.record.qmp})

    async def _command(self, vm: _Vm, command: str) -> None:
        if vm.monitor is None or vm.exit is not None:
            raise DriverError(f"VM {vm.record.task_id} is not running")
        await vm.monitor.execute(command)

    def _set_phase(self, vm: _Vm, phase: TaskPhase) -> None:
        if vm.exit is None and vm.phase is not phase:
            vm.phase = phase
            self._listener(vm.record.task_id)

    def _rebooting(self, vm: _Vm) -> None:
        vm.guest_booted = False
        self._arm_boot_timer(vm)
        if vm.phase is not TaskPhase.STOPPING:
            self._set_phase(vm, TaskPhase.BOOTING)

    def _arm_boot_timer(self, vm: _Vm) -> None:
        """After ``boot_timeout`` without a boot marker, a BOOTING VM counts as RUNNING."""
        if vm.boot_timer is not None:
            vm.boot_timer.cancel()

        def expire() -> None:
            if vm.phase is TaskPhase.BOOTING:
                self._set_phase(vm, TaskPhase.RUNNING)

        vm.boot_timer = asyncio.get_running_loop().call_later(self.settings.boot_timeout, expire)

    def _on_event(self, vm: _Vm, name: str, data: Mapping[str, Any]) -> None:
        now = time.time()
        if name == "SHUTDOWN":
            reason = str(data.get("reason", ""))
            if reason == "guest-panic":
                self._force_quit(vm, ExitResult(1, "GuestCrashed", now, message="guest panicked"))
            elif vm.stop_requested:
                self._force_quit(vm, ExitResult(0, "Stopped", now, message="guest powered off (ACPI)"))
            elif data.get("guest"):
                self._force_quit(vm, ExitResult(0, "GuestShutdown", now, message="guest shut down"))
        elif name == "GUEST_PANICKED":
            self._force_quit(vm, ExitResult(1, "GuestCrashed", now, message="guest panicked (pvpanic)"))
        elif name == "RESET":
            self._rebooting(vm)
        elif name == "RESUME" and vm.incoming:
            vm.incoming, vm.guest_booted = False, True  # the migrated guest runs on, booted long ago
            if vm.boot_timer is not None:
                vm.boot_timer.cancel()
            self._set_phase(vm, TaskPhase.RUNNING)

    def _force_quit(self, vm: _Vm, result: ExitResult) -> None:
        """Record why the VM ends (the first reason wins) and make QEMU quit."""
        if vm.pending is None:
            vm.pending = result
        if vm.quitting is None and vm.exit is None:
            vm.quitting = asyncio.create_task(self._quit(vm), name=f"quit-{vm.record.task_id}")

    async def _quit(self, vm: _Vm) -> None:
        try:
            if vm.monitor is not None:
                await vm.monitor.execute("quit")
                return
        except MonitorError:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.kill(vm.record.pid, signal.SIGKILL)

    async def _follow_console(self, vm: _Vm) -> None:
        """Watch the console for the boot marker and kernel panics."""
        batches = logfile.follow_batches(vm.paths.console, follow=True, ended=lambda: vm.exit is not None,
                                         poll=CONSOLE_POLL)
        async for line in (logfile.decode_text(raw) async for batch in batches for raw in batch):
            if vm.console.panicked(line):
                self._force_quit(vm, ExitResult(1, "GuestCrashed", time.time(), message=line.strip()))
            elif not vm.guest_booted and vm.console.booted(line):
                vm.guest_booted = True
                if vm.phase is TaskPhase.BOOTING:
                    self._set_phase(vm, TaskPhase.RUNNING)

    def _qemu_exited(self, vm: _Vm) -> None:
        if vm.exit is not None:
            return
        result = vm.pending or ExitResult(137, "Killed", time.time(), message="the QEMU process ended unexpectedly")
        vm.exit = result
        vm.phase = TaskPhase.EXITED
        with contextlib.suppress(OSError):
            save_exit(vm.paths.dir, result)
        vm.done.set()
        asyncio.get_running_loop().create_task(self._release(vm))
        self._listener(vm.record.task_id)

    async def _release(self, vm: _Vm) -> None:
        if vm.boot_timer is not None:
            vm.boot_timer.cancel()
        if vm.process_watch is not None:
            vm.process_watch.cancel()
        monitor, vm.monitor = vm.monitor, None
        if monitor is not None:
            await monitor.close()
        if vm.console_task is not None and vm.console_task is not asyncio.current_task():
            vm.console_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await vm.console_task
