"""Which host files a VM may name: refused at validation when no node could allow them, and by
the node (real path, symlinks resolved, inside its allowed directories) before QEMU starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.drivers.protocol import CannotRunError, TaskConfig, VmOptions
from agent.drivers.qemu import QemuDriver, QemuSettings
from atoll.kinds import checks
from atoll.vm_host_paths import HostPathError, resolve_vm_path
from tests.support.objects import make_vm


@pytest.mark.parametrize(("field", "value", "message"), [
    pytest.param("kernel", "vmlinuz", "is not an absolute path", id="a relative kernel"),
    pytest.param("kernel", "/var/lib/atoll/../../etc/shadow", "is not a normal path", id="a kernel path with '..'"),
    pytest.param("initrd", "/var/lib//initrd", "is not a normal path", id="an initrd path with an empty component"),
    pytest.param("initrd", "/proc/self/environ", "is below /proc", id="an initrd below /proc"),
    pytest.param("disk", "/dev/sda", "is below /dev", id="a disk that is a host block device"),
    pytest.param("disk", "/sys/firmware/acpi/tables/DSDT", "is below /sys", id="a disk below /sys"),
    pytest.param("disk", "/images/a\nb", "holds control characters", id="a newline in a disk path"),
    pytest.param("disk", "/" + "a" * 5000, "4096", id="a path over PATH_MAX"),
])
def test_validation_refuses_paths_no_node_may_give_a_vm(field: str, value: str, message: str) -> None:
    vm = make_vm()
    if field == "disk":
        vm.virtual_machine.spec.disks.add(name="data", image=value)
        where = "spec.disks[0].image"
    elif field == "initrd":
        vm.virtual_machine.spec.boot.initrd = value
        where = "spec.boot.initrd"
    else:
        vm.virtual_machine.spec.boot.kernel = value
        where = "spec.boot.kernel"
    problems = [error for error in checks.validate(vm) if error.path == where]
    assert len(problems) == 1 and message in problems[0].message, problems
    assert len(problems[0].message) < 500


def test_validation_accepts_a_normal_absolute_path() -> None:
    vm = make_vm()
    vm.virtual_machine.spec.disks.add(name="data", image="/var/lib/atoll/vm/data.qcow2")
    assert checks.validate(vm) == []


@pytest.fixture
def host(tmp_path: Path) -> dict[str, Path]:
    """allowed/ (kernel, a link to an outside secret, a subdirectory), outside/ (secret, a link
    into allowed/) and a link to allowed/ itself."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "sub").mkdir(parents=True)
    outside.mkdir()
    (allowed / "vmlinuz").write_bytes(b"kernel")
    (outside / "secret").write_text("secret")
    os.symlink(outside / "secret", allowed / "escape")
    os.symlink(allowed / "vmlinuz", outside / "inside")
    os.symlink(allowed, tmp_path / "allowed-link")
    return {"allowed": allowed, "outside": outside, "root": tmp_path}


@pytest.mark.parametrize(("path", "expected"), [
    pytest.param("{allowed}/vmlinuz", "{allowed}/vmlinuz", id="a file in an allowed directory"),
    pytest.param("{outside}/inside", "{allowed}/vmlinuz", id="a link from outside to an allowed file is its real path"),
    pytest.param("{root}/allowed-link/vmlinuz", "{allowed}/vmlinuz", id="through a link to the allowed directory"),
])
def test_the_node_gives_qemu_the_real_path_of_an_allowed_file(host: dict[str, Path], path: str, expected: str) -> None:
    assert resolve_vm_path(path.format(**host), [host["allowed"]]) == expected.format(**host)


@pytest.mark.parametrize(("path", "message"), [
    pytest.param("{outside}/secret", "is not in a directory this node lets VMs use", id="a file outside"),
    pytest.param("{allowed}/escape", "is not in a directory this node lets VMs use", id="a link in allowed to outside"),
    pytest.param("{allowed}/sub", "is not a regular file", id="a directory"),
    pytest.param("{allowed}/missing", "does not exist on this node", id="a missing file"),
    pytest.param("/etc/passwd", "is not in a directory this node lets VMs use", id="a host file"),
    pytest.param("/proc/self/mem", "is below /proc", id="a kernel interface"),
])
def test_the_node_refuses_anything_else(host: dict[str, Path], path: str, message: str) -> None:
    with pytest.raises(HostPathError, match=message):
        resolve_vm_path(path.format(**host), [host["allowed"]])


async def test_the_qemu_driver_refuses_before_running_anything(host: dict[str, Path], tmp_path: Path) -> None:
    settings = QemuSettings(state_dir=tmp_path / "qemu", qemu="/nonexistent/qemu", qemu_img="/nonexistent/qemu-img",
                            vm_image_dirs=(host["allowed"],))
    driver = QemuDriver(settings)
    config = TaskConfig(task_id="u1:vm", kind="vm", namespace="default", workload="vm", workload_uid="u1",
                        name="vm", vm=VmOptions(memory=2**28, kernel=str(host["allowed"] / "escape")))
    with pytest.raises(CannotRunError, match=r"^spec.boot.kernel: .* is not in a directory this node lets VMs use"):
        await driver.start(config)
    assert not (tmp_path / "qemu").exists(), "nothing was made for a refused VM"
