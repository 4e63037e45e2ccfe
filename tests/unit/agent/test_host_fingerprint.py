"""Host facts and hypervisor detection: a hypervisor counts only when a guest actually runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.host.acceleration import Acceleration, BootProbe, host_hypervisor
from agent.host.facts import host_facts, memory_bytes, os_release


def test_meminfo_and_os_release_parse() -> None:
    assert memory_bytes("MemTotal:       24684532 kB\nMemFree: 1 kB\n") == 24684532 * 1024
    assert os_release('ID=debian\nVERSION_ID="12"\n') == "debian 12"


def test_this_host_reports_cpus_memory_kernel_and_arch() -> None:
    facts = host_facts()
    assert facts.cpu_millis >= 1000 and facts.memory_bytes > 0
    assert facts.os == "linux" and facts.kernel and facts.arch


def _probe(kvm: bool, tcg: bool) -> BootProbe:
    async def probe(qemu: str, acceleration: Acceleration) -> tuple[bool, str]:
        works = kvm if acceleration.accel == "kvm" else tcg
        return works, "" if works else f"{acceleration.accel}: failed to set MSR 0x48b"
    return probe


@pytest.mark.parametrize(
    ("qemu", "kvm_device", "kvm", "tcg", "kind", "reason_part"),
    [
        pytest.param(None, True, True, True, "none", "qemu-system-x86_64 is not installed",
                     id="no qemu: none, even with /dev/kvm present"),
        pytest.param("/usr/bin/qemu", True, False, True, "type2", "KVM probe guest failed",
                     id="a /dev/kvm shim that cannot run a guest falls back to TCG"),
        pytest.param("/usr/bin/qemu", True, True, True, "type1", "", id="working KVM is type1"),
        pytest.param("/usr/bin/qemu", False, False, False, "none", "TCG probe guest failed too",
                     id="nothing boots: none with both reasons"),
    ],
)
async def test_detect_tests_rather_than_trusts_the_device(
    tmp_path: Path, qemu: str | None, kvm_device: bool, kvm: bool, tcg: bool, kind: str, reason_part: str
) -> None:
    device = tmp_path / "kvm"
    if kvm_device:
        device.touch()
    facts = await host_hypervisor(which=lambda name: qemu, kvm_device=device, probe=_probe(kvm, tcg))
    assert facts.type == kind
    assert reason_part in facts.reason
