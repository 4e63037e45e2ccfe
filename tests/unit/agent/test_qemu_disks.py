"""A VM run's disks and cloud-init seed: from the spec to the driver's options (specs.vm_config),
the files qemu-img and genisoimage make (real tools), and the QEMU drive arguments."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agent.drivers.protocol import CannotRunError, CloudInitData, TaskConfig, VmDisk, VmOptions
from agent.drivers.qemu.cloud_init import build_seed, seed_files
from agent.drivers.qemu.command import VmPaths, qemu_argv
from agent.drivers.qemu.disks import Drive, make_run_disks
from agent.host.acceleration import TCG
from agent.workloads.specs import vm_config
from atoll import kinds
from tests.support.objects import make_vm
from tests.support.system import require_binary

MIB = 2**20


def test_the_spec_disks_and_cloud_init_reach_the_driver_with_a_default_meta_data() -> None:
    vm = make_vm("web").virtual_machine
    vm.metadata.uid = "u-1"
    vm.spec.disks.add(name="root", image="/images/base.qcow2", size="1Gi")
    vm.spec.disks.add(name="scratch", size="64Mi", format="raw", read_only=True)
    vm.spec.cloud_init.user_data = "#!/bin/sh\necho hi\n"
    kinds.by_name("VirtualMachine").default(vm)
    options = vm_config(vm, 3).vm
    assert options is not None
    assert options.disks == (VmDisk("root", "/images/base.qcow2", 2**30, "qcow2"),
                             VmDisk("scratch", "", 64 * MIB, "raw", read_only=True))
    assert options.cloud_init == CloudInitData("#!/bin/sh\necho hi\n", "instance-id: u-1\nlocal-hostname: web\n")
    vm.spec.cloud_init.meta_data = "instance-id: mine\n"
    vm.spec.cloud_init.network_data = "version: 2\n"
    seed = vm_config(vm, 3).vm.cloud_init  # type: ignore[union-attr]
    assert seed is not None and seed_files(seed) == {
        "user-data": "#!/bin/sh\necho hi\n", "meta-data": "instance-id: mine\n", "network-config": "version: 2\n"}
    vm.ClearField("spec")
    assert vm_config(vm, 3).vm.cloud_init is None  # type: ignore[union-attr]


def config(**vm: object) -> TaskConfig:
    return TaskConfig(task_id="u:vm-run1", kind="vm", namespace="default", workload="web", workload_uid="u",
                      name="vm-run1", vm=VmOptions(**vm))  # type: ignore[arg-type]


def drive_args(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg in ("-drive", "-device") and "disk" in argv[i + 1]]


def test_drives_follow_the_spec_boot_from_the_named_disk_and_the_seed_is_read_only_last(tmp_path: Path) -> None:
    paths = VmPaths(tmp_path, tmp_path / "qmp.sock")
    disks = (VmDisk("data", size=MIB), VmDisk("root", "/images/base.qcow2"))
    drives = [Drive(tmp_path / "disk0.qcow2", "qcow2"), Drive(tmp_path / "disk1.qcow2", "qcow2"),
              Drive(tmp_path / "cidata.iso", "raw", read_only=True)]
    argv = qemu_argv("qemu", config(disks=disks, boot_disk="root"), TCG, paths, drives)
    assert drive_args(argv) == [
        f"file={tmp_path}/disk0.qcow2,if=none,id=disk0,format=qcow2", "virtio-blk-pci,drive=disk0",
        f"file={tmp_path}/disk1.qcow2,if=none,id=disk1,format=qcow2", "virtio-blk-pci,drive=disk1,bootindex=0",
        f"file={tmp_path}/cidata.iso,if=none,id=disk2,format=raw,readonly=on", "virtio-blk-pci,drive=disk2",
    ]
    kernel_boot = qemu_argv("qemu", config(kernel="/k", disks=disks), TCG, paths, drives)
    assert not any("bootindex" in arg for arg in kernel_boot)


async def test_a_run_gets_an_overlay_grown_to_its_size_and_a_blank_disk(tmp_path: Path) -> None:
    qemu_img = require_binary("qemu-img", "qemu-utils")
    base = tmp_path / "base.qcow2"
    subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    disks = (VmDisk("root", str(base), size=32 * MIB), VmDisk("scratch", size=8 * MIB, format="raw"))
    drives = await make_run_disks(qemu_img, disks, tmp_path)
    assert [(drive.path.name, drive.format) for drive in drives] == [("disk0.qcow2", "qcow2"), ("disk1.raw", "raw")]
    infos = [json.loads(subprocess.run([qemu_img, "info", "--output=json", str(drive.path)], check=True,
                                       capture_output=True, text=True).stdout) for drive in drives]
    assert (infos[0]["virtual-size"], infos[0]["backing-filename"]) == (32 * MIB, str(base))
    assert (infos[1]["virtual-size"], infos[1]["format"]) == (8 * MIB, "raw")


async def test_an_overlay_smaller_than_its_image_can_never_run(tmp_path: Path) -> None:
    qemu_img = require_binary("qemu-img", "qemu-utils")
    base = tmp_path / "base.qcow2"
    subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    with pytest.raises(CannotRunError, match="smaller than its image"):
        await make_run_disks(qemu_img, (VmDisk("root", str(base), size=MIB),), tmp_path)


async def test_the_seed_is_an_iso9660_image_labelled_cidata_with_the_nocloud_files(tmp_path: Path) -> None:
    genisoimage = require_binary("genisoimage", "genisoimage")
    isoinfo = require_binary("isoinfo", "genisoimage")
    seed = await build_seed(genisoimage, CloudInitData("#cloud-config\n", "instance-id: u-1\n"), tmp_path)
    label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", str(seed)], capture_output=True, text=True)
    assert label.stdout.strip() == "cidata"
    listing = subprocess.run([isoinfo, "-R", "-f", "-i", str(seed)], capture_output=True, text=True, check=True)
    assert sorted(listing.stdout.split()) == ["/meta-data", "/user-data"]
    user_data = subprocess.run([isoinfo, "-R", "-x", "/user-data", "-i", str(seed)], capture_output=True, text=True)
    assert user_data.stdout == "#cloud-config\n"


async def test_a_disk_with_neither_image_nor_size_can_never_run(tmp_path: Path) -> None:
    with pytest.raises(CannotRunError, match="'claimed' has neither an image nor a size"):
        await make_run_disks("qemu-img", (VmDisk("claimed"),), tmp_path)


async def test_without_genisoimage_a_seed_can_never_be_made(tmp_path: Path) -> None:
    with pytest.raises(CannotRunError, match="install genisoimage"):
        await build_seed("no-such-genisoimage", CloudInitData("", ""), tmp_path)
