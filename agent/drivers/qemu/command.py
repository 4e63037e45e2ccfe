"""The qemu-system-x86_64 command line for one VM (pure).

QEMU daemonizes (so the VM outlives an agent restart) and the guest starts at once: the driver
attaches to QMP while it boots (keeping the QMP handshake off the boot's critical path) and reads
the run state once attached, so nothing that happened before is missed: ``-no-shutdown`` keeps
QEMU alive after a guest power-off until the driver has seen why and sends ``quit``; a pvpanic
device with ``-action panic=pause`` turns guest panics into GUEST_PANICKED events. The serial
console is a unix socket the agent connects to for ``atoll console vm/NAME``
(serial_console.py), and everything the guest writes to it also goes to the file that ``atoll logs
vm/NAME`` reads (the chardev's logfile), so both show the same output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.drivers.protocol import CannotRunError, TaskConfig
from agent.drivers.qemu.disks import Drive
from agent.drivers.qemu.nic import Nic
from agent.drivers.qemu.record import socket_path
from agent.host.acceleration import Acceleration

MIB = 1024 * 1024
DEFAULT_MEMORY_MIB = 256


@dataclass(frozen=True)
class VmPaths:
    """Files of one VM under its task directory; ``qmp`` may live elsewhere (sun_path is short)."""

    dir: Path
    qmp: Path

    @property
    def console(self) -> Path:
        return self.dir / "console.log"

    @property
    def console_socket(self) -> Path:
        return socket_path(self.dir, "console")

    @property
    def pidfile(self) -> Path:
        return self.dir / "qemu.pid"


def memory_mib(config: TaskConfig) -> int:
    memory = config.vm.memory if config.vm else 0
    return max(16, -(-memory // MIB)) if memory else DEFAULT_MEMORY_MIB


def qemu_argv(qemu: str, config: TaskConfig, acceleration: Acceleration, paths: VmPaths,
              drives: list[Drive], nic: Nic | None = None, incoming: bool = False) -> list[str]:
    """The full command; ``drives`` are the run's disk files in spec order, then the cloud-init
    seed when there is one. Without a kernel the VM boots from the disk ``boot_disk`` names (else
    the first). ``nic``: the VM's interface on the pod network, whose address a directly booted
    kernel gets as ``ip=`` (last on its command line, so it wins). CannotRunError when there is
    nothing to boot. ``incoming``: the receiving side of a live migration (migration.py): the
    same machine, waiting for its state (``-incoming defer``)."""
    vm = config.vm
    if vm is None:
        raise CannotRunError("not a virtual machine")
    if not vm.kernel and not vm.disks:
        raise CannotRunError("the VM has neither a kernel to boot nor a disk")
    names = [disk.name for disk in vm.disks]
    boot_index = -1 if vm.kernel else (names.index(vm.boot_disk) if vm.boot_disk in names else 0)
    argv = [
        qemu,
        "-name", f"guest={config.namespace}/{config.workload},debug-threads=on",
        "-machine", f"pc,accel={acceleration.accel}",
        "-cpu", vm.cpu_model or acceleration.cpu,
        "-smp", str(max(1, vm.vcpus)),
        "-m", f"{memory_mib(config)}M",
        "-nodefaults", "-no-user-config", "-display", "none",
        "-daemonize", "-pidfile", str(paths.pidfile),
        "-qmp", f"unix:{paths.qmp},server=on,wait=off",
        "-chardev", f"socket,id=console,path={paths.console_socket},server=on,wait=off,logfile={paths.console}",
        "-serial", "chardev:console",
        "-device", "pvpanic",
        "-action", "panic=pause",
        "-no-shutdown",
    ]
    if vm.kernel:
        argv += ["-kernel", vm.kernel]
        if vm.initrd:
            argv += ["-initrd", vm.initrd]
        cmdline = vm.cmdline or "console=ttyS0"
        ip_arg = nic.kernel_ip_arg() if nic else ""
        argv += ["-append", f"{cmdline} {ip_arg}" if ip_arg else cmdline]
    for index, drive in enumerate(drives):
        boot = ",bootindex=0" if index == boot_index else ""
        read_only = ",readonly=on" if drive.read_only else ""
        argv += [
            "-drive", f"file={drive.path},if=none,id=disk{index},format={drive.format}{read_only}",
            "-device", f"virtio-blk-pci,drive=disk{index}{boot}",
        ]
    if nic is not None:
        argv += nic.qemu_args()
    if incoming:
        argv += ["-incoming", "defer"]
    return argv
