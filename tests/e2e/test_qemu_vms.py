"""The qemu driver with real guests (a Debian kernel and a busybox initramfs). Each boot costs
seconds under TCG, so each test covers one whole story of a VM."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from agent.drivers.protocol import CannotRunError, CloudInitData, TaskPhase, VmDisk, VmOptions
from agent.drivers.qemu import QemuDriver
from tests.e2e import artifacts
from tests.e2e.children import start_then_crash
from tests.e2e.conftest import QemuFactory, vm

BOOT_TIMEOUT = 90.0


async def _phase(driver: QemuDriver, task_id: str, wanted: TaskPhase, timeout: float = BOOT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while (status := await driver.inspect(task_id)).phase is not wanted:
        assert time.monotonic() < deadline, f"{task_id} stayed {status.phase.value}, never {wanted.value}"
        await asyncio.sleep(0.05)


async def _console(driver: QemuDriver, task_id: str) -> list[str]:
    return [line.text async for line in driver.logs(task_id)]


def _markers(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(artifacts.MARKER)]


async def test_the_fingerprint_reports_the_acceleration_that_really_boots(qemu: QemuFactory) -> None:
    fingerprint = await qemu().fingerprint()
    assert fingerprint.healthy, fingerprint.reason
    facts = fingerprint.hypervisor
    assert facts is not None
    assert (facts.type, facts.name) in (("type1", "qemu-kvm"), ("type2", "qemu-tcg"))
    if facts.type == "type2":
        assert "emulated" in facts.reason and "KVM" in facts.reason  # says why KVM is not used


async def test_a_vm_boots_pauses_resumes_and_powers_off_gracefully_on_a_disk_overlay(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "64M"], check=True)
    base_digest = hashlib.sha256(base.read_bytes()).hexdigest()
    driver = qemu()
    changed: list[str] = []
    driver.set_listener(changed.append)
    config = vm("v1:vm", kernel, initramfs)
    assert config.vm is not None
    await driver.start(replace(config, vm=replace(config.vm, disks=(VmDisk("root", str(base)),))))
    assert (await driver.inspect("v1:vm")).phase is TaskPhase.BOOTING
    await _phase(driver, "v1:vm", TaskPhase.RUNNING)
    assert (await driver.inspect("v1:vm")).guest_booted
    assert "v1:vm" in changed
    assert len(_markers(await _console(driver, "v1:vm"))) == 1
    overlay = tmp_path / "qemu" / "tasks" / "v1.vm" / "disk0.qcow2"
    info = subprocess.run(["qemu-img", "info", "-U", str(overlay)], capture_output=True, text=True, check=True)
    assert f"backing file: {base}" in info.stdout

    await driver.pause("v1:vm")
    assert (await driver.inspect("v1:vm")).phase is TaskPhase.PAUSED
    await driver.resume("v1:vm")
    assert (await driver.inspect("v1:vm")).phase is TaskPhase.RUNNING

    result = await driver.stop("v1:vm", timeout=30)
    assert (result.exit_code, result.reason) == (0, "Stopped")
    assert "atoll-guest: power button" in await _console(driver, "v1:vm")
    await driver.destroy("v1:vm")
    assert not overlay.exists()
    assert hashlib.sha256(base.read_bytes()).hexdigest() == base_digest


async def test_a_running_vm_is_adopted_after_an_agent_crash_then_reboots_in_place(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path, tmp_path: Path
) -> None:
    await start_then_crash("qemu", str(tmp_path / "qemu"), "v1:vm", str(kernel.image), str(initramfs))
    driver = qemu()
    (handle,) = await driver.list_tasks()
    assert await driver.recover(handle)
    await _phase(driver, "v1:vm", TaskPhase.RUNNING)
    await driver.reboot("v1:vm")
    assert (await driver.inspect("v1:vm")).phase is TaskPhase.BOOTING
    await _phase(driver, "v1:vm", TaskPhase.RUNNING)
    boots = _markers(await _console(driver, "v1:vm"))
    assert len(boots) == 2 and boots[0] != boots[1], boots  # two boots, two boot ids
    result = await driver.stop("v1:vm", timeout=30)
    assert result.reason == "Stopped"


@pytest.mark.parametrize(("flag", "reason", "failed"), [
    pytest.param("atoll.poweroff", "GuestShutdown", False, id="a guest power-off ends the VM as GuestShutdown"),
    pytest.param("atoll.crash", "GuestCrashed", True, id="a guest kernel panic ends the VM as GuestCrashed"),
])
async def test_guest_initiated_endings_are_observed_and_the_id_can_start_again(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path, flag: str, reason: str, failed: bool
) -> None:
    driver = qemu()
    changed: list[str] = []
    driver.set_listener(changed.append)
    await driver.start(vm("v1:vm", kernel, initramfs, flag))
    result = await asyncio.wait_for(driver.wait("v1:vm"), BOOT_TIMEOUT)
    assert (result.reason, result.failed) == (reason, failed)
    assert changed[-1] == "v1:vm"
    await driver.destroy("v1:vm")
    await driver.start(vm("v1:vm", kernel, initramfs))  # what run strategy Always does next
    await _phase(driver, "v1:vm", TaskPhase.RUNNING)


async def test_stop_quits_a_guest_that_ignores_the_power_button_after_the_grace_period(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path
) -> None:
    driver = qemu()
    await driver.start(vm("v1:vm", kernel, initramfs, "atoll.ignore-powerdown"))
    await _phase(driver, "v1:vm", TaskPhase.RUNNING)
    began = time.monotonic()
    result = await driver.stop("v1:vm", timeout=2)
    assert time.monotonic() - began >= 2, "killed before the grace period ended"
    assert (result.reason, result.signal) == ("Killed", 9)  # quit, not stuck


async def test_vms_that_can_never_run_here_fail_with_a_clear_reason(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path, tmp_path: Path
) -> None:
    driver = qemu()
    fingerprint = await driver.fingerprint()
    assert fingerprint.hypervisor is not None
    other_type = "type1" if fingerprint.hypervisor.type == "type2" else "type2"
    refusals = [
        (VmOptions(kernel=str(tmp_path / "missing-kernel")), 'spec.boot.kernel: ".*missing-kernel" does not exist'),
        (VmOptions(kernel="/etc/passwd"), "spec.boot.kernel: .* is not in a directory this node lets VMs use"),
        (VmOptions(kernel=str(kernel.image), disks=(VmDisk("d", "/etc/shadow"),)),
         r"spec.disks\[0\].image: .* not in a"),
        (VmOptions(kernel=str(kernel.image), hypervisor_type=other_type), f"needs a {other_type} hypervisor"),
        (VmOptions(), "neither a kernel"),
    ]
    for options, message in refusals:
        with pytest.raises(CannotRunError, match=message):
            await driver.start(vm("v1:vm", kernel, initramfs, vm=options))
    assert await driver.list_tasks() == []


async def test_a_run_gets_a_blank_disk_a_grown_overlay_and_runs_its_cloud_init_user_data(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "64M"], check=True)
    script = "\n".join(("#!/bin/sh", "echo hello from user-data",
                        'for d in /sys/block/vd*; do echo "disk ${d##*/} $(cat $d/size)"; done', ""))
    disks = (VmDisk("root", str(base), size=128 * 2**20), VmDisk("scratch", size=32 * 2**20, format="raw"))
    seed = CloudInitData(user_data=script, meta_data="instance-id: u-1\nlocal-hostname: v1\n")
    config = vm("v1:vm", kernel, initramfs)
    assert config.vm is not None
    driver = qemu()
    await driver.start(replace(config, vm=replace(config.vm, disks=disks, cloud_init=seed)))
    await _phase(driver, "v1:vm", TaskPhase.RUNNING)
    console = await _console(driver, "v1:vm")
    ran = console[next(i for i, line in enumerate(console) if line.startswith(artifacts.CLOUD_INIT_BEGIN)):]
    assert ran[1] == "hello from user-data", console
    sectors = {line.split()[1]: int(line.split()[2]) for line in ran if line.startswith("disk ")}
    assert sectors["vda"] == 128 * 2**20 // 512 and sectors["vdb"] == 32 * 2**20 // 512, console
    assert "vdc" in sectors  # the seed, last
    assert f"{artifacts.CLOUD_INIT_END} 0" in ran, console
    task_dir = tmp_path / "qemu" / "tasks" / "v1.vm"
    label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", str(task_dir / "cidata.iso")],
                           capture_output=True, text=True, check=True)
    assert label.stdout.strip() == "cidata"
    await driver.stop("v1:vm", timeout=30)
    await driver.destroy("v1:vm")
    assert not task_dir.exists()  # the run's disks and seed go with it
