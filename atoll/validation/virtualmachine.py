"""Validation of VirtualMachine specs (standalone and in Deployment templates) and status."""

from __future__ import annotations

from atoll.manifest_codec import describe
from atoll.migrations import EVICTION_STRATEGIES
from atoll.probes import vm_probes
from atoll.v1 import virtualmachine_pb2, vm_identity_pb2
from atoll.validation.base import (
    FieldError,
    check_at_least,
    check_name,
    check_one_of,
    check_quantity,
    check_windows_build,
)
from atoll.validation.meta import validate_conditions
from atoll.validation.probe import validate_probe
from atoll.validation.scheduling import validate_scheduling
from atoll.vm_host_paths import path_problem

RUN_STRATEGIES = ("Always", "RerunOnFailure", "Manual", "Halted")
POWER_STATES = ("Running", "Paused", "Stopped")
HYPERVISOR_REQUIREMENTS = ("any", "type1", "type2")
GUEST_OPERATING_SYSTEMS = ("linux", "windows")
DISK_FORMATS = ("qcow2", "raw")
DISK_BUSES = ("virtio", "ide", "scsi")
VM_PHASES = ("Pending", "Scheduled", "Starting", "Running", "Paused", "Stopping", "Stopped", "Failed")


def validate_vm_spec(
    spec: virtualmachine_pb2.VirtualMachineSpec, path: str, errors: list[FieldError]
) -> None:
    """vCPUs, memory, disks, boot source, guest, hypervisor and lifecycle values; paths under ``path``."""
    check_at_least(spec.vcpus, 1, f"{path}.vcpus", errors)
    if not spec.memory:
        errors.append(FieldError(f"{path}.memory", "required (a quantity such as 2Gi)"))
    else:
        check_quantity(spec.memory, f"{path}.memory", errors, positive=True)
    disk_names = _validate_disks(spec, path, errors)
    _validate_boot(spec.boot, disk_names, path, errors)
    check_one_of(spec.guest.os, GUEST_OPERATING_SYSTEMS, f"{path}.guest.os", errors)
    if spec.guest.os == "windows":
        check_windows_build(spec.guest.build, f"{path}.guest.build", errors)
    check_one_of(spec.hypervisor.type, HYPERVISOR_REQUIREMENTS, f"{path}.hypervisor.type", errors)
    check_one_of(spec.run_strategy, RUN_STRATEGIES, f"{path}.runStrategy", errors)
    check_one_of(spec.power_state, POWER_STATES, f"{path}.powerState", errors)
    check_one_of(spec.eviction_strategy, EVICTION_STRATEGIES, f"{path}.evictionStrategy", errors)
    if spec.HasField("termination_grace_period_seconds"):
        check_at_least(
            spec.termination_grace_period_seconds, 0, f"{path}.terminationGracePeriodSeconds", errors
        )
    check_name(spec.node_name, f"{path}.nodeName", errors, label=False, required=False)
    validate_scheduling(spec.scheduling, f"{path}.scheduling", errors)
    for kind, probe in vm_probes(spec):
        validate_probe(probe, kind, f"{path}.{kind}Probe", errors, container_ports=None)
    _validate_cloud_init(spec.cloud_init, f"{path}.cloudInit", errors)


def _validate_cloud_init(cloud_init: vm_identity_pb2.CloudInit, path: str, errors: list[FieldError]) -> None:
    """A Secret named for the user-data and network-config replaces both inline fields."""
    check_name(cloud_init.secret_name, f"{path}.secretName", errors, label=False, required=False)
    if cloud_init.secret_name and (cloud_init.user_data or cloud_init.network_data):
        errors.append(
            FieldError(f"{path}.secretName", "the Secret holds userData and networkData: set it or those, not both")
        )


def validate_vm_status(
    status: virtualmachine_pb2.VirtualMachineStatus, path: str, errors: list[FieldError]
) -> None:
    check_one_of(status.phase, VM_PHASES, f"{path}.phase", errors)
    check_one_of(status.power_state, POWER_STATES, f"{path}.powerState", errors)
    validate_conditions(status.conditions, f"{path}.conditions", errors)


def _validate_disks(
    spec: virtualmachine_pb2.VirtualMachineSpec, path: str, errors: list[FieldError]
) -> set[str]:
    names: set[str] = set()
    for index, disk in enumerate(spec.disks):
        disk_path = f"{path}.disks[{index}]"
        check_name(disk.name, f"{disk_path}.name", errors, label=True, required=True)
        if disk.name and disk.name in names:
            errors.append(FieldError(f"{disk_path}.name", f"duplicate name {describe(disk.name)}"))
        names.add(disk.name)
        _check_host_path(disk.image, f"{disk_path}.image", errors)
        if disk.persistent_volume_claim:
            claim_path = f"{disk_path}.persistentVolumeClaim"
            check_name(disk.persistent_volume_claim, claim_path, errors, label=False, required=True)
            if disk.image or disk.size:
                errors.append(FieldError(disk_path, "a persistentVolumeClaim disk has no image or size"))
        elif not disk.image and not disk.size:
            errors.append(
                FieldError(disk_path, "set image (an existing image), size (a new blank disk) or persistentVolumeClaim")
            )
        if disk.size:
            check_quantity(disk.size, f"{disk_path}.size", errors, positive=True)
        check_one_of(disk.format, DISK_FORMATS, f"{disk_path}.format", errors)
        check_one_of(disk.bus, DISK_BUSES, f"{disk_path}.bus", errors)
    return names


def _validate_boot(
    boot: virtualmachine_pb2.Boot, disk_names: set[str], path: str, errors: list[FieldError]
) -> None:
    """Direct kernel boot XOR a boot disk; with neither, the first disk boots (defaults fill boot.disk)."""
    boot_path = f"{path}.boot"
    _check_host_path(boot.kernel, f"{boot_path}.kernel", errors)
    _check_host_path(boot.initrd, f"{boot_path}.initrd", errors)
    if boot.kernel and boot.disk:
        errors.append(FieldError(boot_path, "exactly one of kernel or disk"))
    elif not boot.kernel and not boot.disk and not disk_names:
        errors.append(
            FieldError(boot_path, "required: set kernel (direct kernel boot) or disk (a name in disks)")
        )
    if not boot.kernel:
        for field, value in (("initrd", boot.initrd), ("cmdline", boot.cmdline)):
            if value:
                errors.append(
                    FieldError(f"{boot_path}.{field}", "only allowed with kernel (direct kernel boot)")
                )
    if boot.disk and boot.disk not in disk_names:
        errors.append(FieldError(f"{boot_path}.disk", f"no disk named {describe(boot.disk)} in {path}.disks"))


def _check_host_path(value: str, path: str, errors: list[FieldError]) -> None:
    """A kernel, initrd or disk image names a file on the node: refuse what no node may give a VM
    (the node checks the rest, atoll/vm_host_paths.py)."""
    problem = path_problem(value) if value else None
    if problem:
        errors.append(FieldError(path, problem))
