"""Which hypervisor really works on this host, found by booting, not by looking at /dev/kvm.

On some machines /dev/kvm exists but is a paravirtual shim on which a normal guest fails
("failed to set MSR" with ``-cpu host``), so its presence proves nothing. ``detect`` runs a
``BootProbe`` with KVM, then with TCG (emulation), and reports the first that works:
KVM -> type1 ``qemu-kvm``; TCG only -> type2 ``qemu-tcg``; neither, or no QEMU -> none, with
the reason. The probe is pluggable: the QEMU driver (issue 6) can install one that boots a real
kernel to a marker; the default here boots QEMU's firmware with no disk and checks it keeps
running for ``FIRMWARE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agent.drivers.protocol import HypervisorFacts

QEMU = "qemu-system-x86_64"
KVM_DEVICE = "/dev/kvm"
FIRMWARE_SECONDS = 2.0


@dataclass(frozen=True)
class ProbeResult:
    works: bool
    detail: str = ""


BootProbe = Callable[[str, str], Awaitable[ProbeResult]]  # (qemu binary, accel "kvm" or "tcg")


async def firmware_boot_probe(qemu: str, accel: str) -> ProbeResult:
    """Start ``qemu`` with ``accel`` and no disk: the guest firmware runs (executing guest code on
    the accelerator). Works when QEMU is still running after FIRMWARE_SECONDS."""
    cpu = "host" if accel == "kvm" else "max"
    argv = [qemu, "-accel", accel, "-cpu", cpu, "-m", "32", "-nodefaults", "-display", "none",
            "-serial", "none", "-monitor", "none", "-no-reboot"]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        await asyncio.wait_for(process.wait(), FIRMWARE_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return ProbeResult(True)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    assert process.stderr is not None
    error = (await process.stderr.read()).decode(errors="replace").strip().splitlines()
    return ProbeResult(False, error[0] if error else f"exited with code {process.returncode}")


async def detect(
    probe: BootProbe = firmware_boot_probe,
    which: Callable[[str], str | None] = shutil.which,
    kvm_present: Callable[[], bool] = lambda: os.path.exists(KVM_DEVICE),
) -> HypervisorFacts:
    """The hypervisor this host can really run guests with (see the module docstring)."""
    qemu = which(QEMU)
    device = f"{KVM_DEVICE} is present but untested" if kvm_present() else f"no {KVM_DEVICE}"
    if qemu is None:
        return HypervisorFacts("none", reason=f"{QEMU} is not installed (Debian package qemu-system-x86); {device}")
    kvm_note = f"no {KVM_DEVICE}"
    if kvm_present():
        kvm = await probe(qemu, "kvm")
        if kvm.works:
            return HypervisorFacts("type1", "qemu-kvm", guest_os=("linux", "windows"), per_vm_overhead_memory="64Mi")
        kvm_note = f"KVM does not run a guest here: {kvm.detail}"
    tcg = await probe(qemu, "tcg")
    if tcg.works:
        return HypervisorFacts("type2", "qemu-tcg", guest_os=("linux",), per_vm_overhead_memory="128Mi",
                               reason=f"emulated (TCG); {kvm_note}")
    return HypervisorFacts("none", reason=f"{kvm_note}; TCG failed too: {tcg.detail}")
