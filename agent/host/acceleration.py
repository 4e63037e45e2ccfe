"""Which acceleration really works here: KVM when a guest actually runs on it, else TCG. The one
probe of this host's hypervisor: the QEMU driver fingerprints with it, and an agent without a VM
driver reports the host's hypervisor from it.

Stat-ing /dev/kvm is not enough (a paravirtual KVM shim can open fine and still fail every real
guest: "failed to set MSR" with ``-cpu host``), so the probe boots a tiny guest with exactly the
accelerator and CPU model the driver would use. The guest is one 512-byte boot sector (source
below) that goes from real mode straight to 64-bit long mode (page tables, EFER.LME via wrmsr,
paging), writes ``RL`` to the serial port and exits QEMU through isa-debug-exit with status 33.

    cli; xor ax,ax; mov ds/es/ss,ax; mov sp,0x7c00; out 0x3f8,'R'
    zero 0x1000..0x3fff; PML4[0]=0x2003; PDPT[0]=0x3003; PD[0]=0x83 (2 MiB identity page)
    lgdt gdtr; cr4|=PAE; cr3=0x1000; EFER|=LME (rdmsr/wrmsr 0xC0000080); cr0|=PG|PE
    ljmp 0x08:long_mode -> mov ds,0x10
    rax=rdx=0, rbx=1, rcx=0; lock cmpxchg16b [0x5000]; [0x5000] == 1 or hlt
    out 0x3f8,'L','\\n'; out 0xf4,0x10; hlt
    gdt (8-aligned): null, 0x00209A0000000000 (64-bit code), 0x0000920000000000 (data); 0x55AA at 510

The locked 16-byte compare-exchange is there because a real Linux kernel executes it early and a
KVM shim seen on this project's machines fails exactly there ("KVM internal error", the guest
hangs) while it enters long mode fine. A KVM probe that hangs is given up after
``KVM_PROBE_TIMEOUT`` (a working KVM finishes the probe in well under a second), and TCG is used.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from agent.drivers.proc import run_command
from agent.drivers.protocol import HypervisorFacts

PROBE_EXIT_STATUS = 33  # isa-debug-exit: (0x10 << 1) | 1
PROBE_OUTPUT = "RL"
PROBE_TIMEOUT = 10.0
KVM_PROBE_TIMEOUT = 3.0
_CODE = bytes.fromhex(
    "fa31c08ed88ec08ed0bc007cbaf803b052eebf001031c0b90018f3abc7060010"
    "0320c70600200330c706003083000f0116b87c0f20e06683c8200f22e066b800"
    "1000000f22d866b9800000c00f32660d000100000f300f20c0660d010000800f"
    "22c0ea677c080066b810008ed831c031d2bb0100000031c9f0480fc70c250050"
    "0000488b3425005000004883fe01750e66baf803b04ceeb00aeeb010e6f4f490"
    "000000000000000000000000009a200000000000009200001700a07c"
)
PROBE_IMAGE = _CODE + bytes(510 - len(_CODE)) + b"\x55\xaa"


@dataclass(frozen=True)
class Acceleration:
    """How VMs run here. ``accel``: kvm or tcg; ``cpu``: the -cpu model; ``reason``: why KVM is
    not used (empty when it is)."""

    accel: str
    cpu: str
    reason: str = ""

    @property
    def hypervisor_type(self) -> str:
        return "type1" if self.accel == "kvm" else "type2"

    @property
    def hypervisor_name(self) -> str:
        return f"qemu-{self.accel}"


KVM = Acceleration("kvm", "host")
TCG = Acceleration("tcg", "qemu64")
# The -cpu models a node offers guests (spec.cpuModel), its default first: what a live migration's
# target must offer (scheduler/plugins/migration_target.py).
CPU_MODELS = {"kvm": ("host",), "tcg": ("qemu64", "max")}
QEMU = "qemu-system-x86_64"
KVM_DEVICE = Path("/dev/kvm")
DEFAULT_PER_VM_OVERHEAD_MIB = 64

BootProbe = Callable[[str, Acceleration], Awaitable[tuple[bool, str]]]
"""(qemu binary, acceleration) -> (the probe guest ran, else what went wrong in one line)."""


def host_is_virtual(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when this host itself runs under a hypervisor (the cpuinfo ``hypervisor`` flag)."""
    try:
        return any(line.startswith("flags") and " hypervisor" in line for line in cpuinfo.read_text().splitlines())
    except OSError:
        return False


async def boots(qemu: str, acceleration: Acceleration) -> tuple[bool, str]:
    """Boot the probe guest with ``acceleration``; (True, "") when it reached long mode, ran the
    locked compare-exchange and exited, else (False, what went wrong in one line)."""
    timeout = KVM_PROBE_TIMEOUT if acceleration.accel == "kvm" else PROBE_TIMEOUT
    with tempfile.TemporaryDirectory(prefix="atoll-accel-") as scratch:
        image = Path(scratch) / "probe.img"
        image.write_bytes(PROBE_IMAGE)
        argv = [
            qemu, "-accel", acceleration.accel, "-cpu", acceleration.cpu, "-M", "pc", "-m", "16",
            "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", f"file={image},format=raw,if=floppy", "-boot", "a",
        ]
        try:
            done = await run_command(argv, timeout=timeout)
        except TimeoutError:
            return False, f"the probe guest did not finish within {timeout:g}s"
        except OSError as err:
            return False, str(err)
    if done.returncode == PROBE_EXIT_STATUS and PROBE_OUTPUT in done.stdout:
        return True, ""
    errors = [line.strip() for line in done.stderr.splitlines() if "error" in line.lower()]
    return False, errors[0] if errors else done.error_line


async def detect(
    qemu: str, kvm_device: Path = KVM_DEVICE, probe: BootProbe | None = None
) -> tuple[Acceleration | None, str]:
    """The acceleration to use (KVM if its probe boots, else TCG if that boots), or None and why
    nothing works. ``probe`` defaults to ``boots``; tests inject one."""
    run_probe = probe or boots
    kvm_reason = f"{kvm_device} is missing"
    if kvm_device.exists():
        if os.access(kvm_device, os.R_OK | os.W_OK):
            ok, why = await run_probe(qemu, KVM)
            if ok:
                return KVM, ""
            kvm_reason = f"KVM probe guest failed: {why}"
        else:
            kvm_reason = f"{kvm_device} is not accessible"
    ok, why = await run_probe(qemu, TCG)
    if ok:
        return Acceleration(TCG.accel, TCG.cpu, kvm_reason), ""
    return None, f"{kvm_reason}; TCG probe guest failed too: {why}"


def guest_os(acceleration: Acceleration) -> tuple[str, ...]:
    """Guests that run usably: Windows only with KVM (emulating it is far too slow)."""
    return ("linux", "windows") if acceleration.accel == "kvm" else ("linux",)


def hypervisor_facts(
    acceleration: Acceleration, per_vm_overhead_mib: int = DEFAULT_PER_VM_OVERHEAD_MIB
) -> HypervisorFacts:
    """What a Node reports of a hypervisor running with ``acceleration``."""
    return HypervisorFacts(
        type=acceleration.hypervisor_type,
        name=acceleration.hypervisor_name,
        nested=host_is_virtual() if acceleration.accel == "kvm" else False,
        guest_os=guest_os(acceleration),
        per_vm_overhead_memory=f"{per_vm_overhead_mib}Mi",
        reason="" if acceleration.accel == "kvm" else f"emulated (TCG): {acceleration.reason}",
        accelerator=acceleration.accel,
        live_migration=True,
        cpu_models=CPU_MODELS[acceleration.accel],
    )


async def host_hypervisor(
    which: Callable[[str], str | None] = shutil.which, kvm_device: Path = KVM_DEVICE, probe: BootProbe | None = None
) -> HypervisorFacts:
    """This host's hypervisor as a Node reports it (type1, type2, or none with the reason)."""
    qemu = which(QEMU)
    if qemu is None:
        return HypervisorFacts("none", reason=f"{QEMU} is not installed (Debian package qemu-system-x86)")
    acceleration, why = await detect(qemu, kvm_device, probe)
    if acceleration is None:
        return HypervisorFacts("none", reason=why)
    return hypervisor_facts(acceleration)
