"""From API objects to driver task configs (pure; no I/O)."""

from __future__ import annotations

from dataclasses import replace

from agent.drivers.abilities import HostPort, SandboxConfig
from agent.drivers.protocol import (
    CloudInitData,
    Resources,
    TaskConfig,
    VmDisk,
    VmOptions,
    VolumeDisk,
    WindowsOptions,
    task_id_for,
)
from agent.volumes.claims import ClaimVolume
from atoll.quantity import QuantityError, cpu_millis, to_bytes
from atoll.v1 import pod_pb2, virtualmachine_pb2
from atoll.vm_runs import run_task_name


def _bytes(text: str) -> int:
    try:
        return to_bytes(text) if text else 0
    except QuantityError:
        return 0


def _millis(text: str) -> int:
    try:
        return cpu_millis(text) if text else 0
    except QuantityError:
        return 0


def container_configs(pod: pod_pb2.Pod) -> list[TaskConfig]:
    """One task per container of ``pod``, in spec order."""
    spec, meta = pod.spec, pod.metadata
    windows = None
    if spec.os == "windows":
        windows = WindowsOptions(spec.windows.isolation or "process", spec.windows.image_build)
    annotations = tuple(sorted(meta.annotations.items()))
    configs = []
    for container in spec.containers:
        requests, limits = container.resources.requests, container.resources.limits
        resources = Resources(
            cpu_millis=_millis(requests.get("cpu", limits.get("cpu", ""))),
            memory_request=_bytes(requests.get("memory", "")),
            memory_limit=_bytes(limits.get("memory", "")),
        )
        configs.append(
            TaskConfig(
                task_id=task_id_for(meta.uid, container.name),
                kind="container",
                namespace=meta.namespace,
                workload=meta.name,
                workload_uid=meta.uid,
                name=container.name,
                image=container.image,
                command=tuple(container.command),
                args=tuple(container.args),
                env=tuple((env.name, env.value) for env in container.env),
                working_dir=container.working_dir,
                os=spec.os or "linux",
                resources=resources,
                host_network=spec.host_network,
                hostname=spec.hostname or meta.name,
                read_only_root=container.read_only_root_filesystem,
                stdin=container.stdin,
                tty=container.tty,
                windows=None if windows is None else WindowsOptions(
                    windows.isolation, windows.image_build, container.host_process
                ),
                annotations=annotations,
            )
        )
    return configs


def sandbox_config(pod: pod_pb2.Pod) -> SandboxConfig:
    """The pod's sandbox: its uid and name, and every container's hostPort."""
    ports = tuple(
        HostPort(port.host_port, port.container_port or port.host_port, port.protocol or "TCP", port.host_ip)
        for container in pod.spec.containers for port in container.ports if port.host_port > 0
    )
    return SandboxConfig(pod.metadata.uid, pod.metadata.namespace, pod.metadata.name, ports)


def vm_config(vm: virtualmachine_pb2.VirtualMachine, run: int) -> TaskConfig:
    """The one task that runs run number ``run`` of ``vm`` (atoll/vm_runs.py)."""
    spec, meta = vm.spec, vm.metadata
    memory = _bytes(spec.memory)
    options = VmOptions(
        vcpus=spec.vcpus or 1,
        memory=memory,
        kernel=spec.boot.kernel,
        initrd=spec.boot.initrd,
        cmdline=spec.boot.cmdline,
        boot_disk=spec.boot.disk,
        disks=tuple(
            VmDisk(disk.name, disk.image, _bytes(disk.size), disk.format or "qcow2", disk.read_only)
            for disk in spec.disks
        ),
        cloud_init=cloud_init_data(vm) if vm.spec.HasField("cloud_init") else None,
        guest_os=spec.guest.os or "linux",
        guest_build=spec.guest.build,
        hypervisor_type=spec.hypervisor.type or "any",
        cpu_model=spec.cpu_model,
    )
    return TaskConfig(
        task_id=task_id_for(meta.uid, run_task_name(run)),
        kind="vm",
        namespace=meta.namespace,
        workload=meta.name,
        workload_uid=meta.uid,
        name=run_task_name(run),
        os=options.guest_os,
        resources=Resources(cpu_millis=options.vcpus * 1000, memory_request=memory, memory_limit=memory),
        vm=options,
        annotations=tuple(sorted(meta.annotations.items())),
    )


def cloud_init_data(vm: virtualmachine_pb2.VirtualMachine) -> CloudInitData:
    """The NoCloud files of ``vm``'s spec.cloudInit; meta-data by default names the instance by
    the VM's UID (the same for every run, so cloud-init's once-per-instance work runs once per
    VM, not once per run) and the host by the VM's name."""
    spec = vm.spec.cloud_init
    meta_data = spec.meta_data or f"instance-id: {vm.metadata.uid}\nlocal-hostname: {vm.metadata.name}\n"
    return CloudInitData(user_data=spec.user_data, meta_data=meta_data, network_data=spec.network_data)


def with_volume_disks(
    config: TaskConfig, vm: virtualmachine_pb2.VirtualMachine, volumes: dict[str, ClaimVolume]
) -> TaskConfig:
    """``config`` with each disk from a claim given its resolved volume."""
    assert config.vm is not None
    disks = tuple(
        replace(disk, volume=VolumeDisk(str(volume.path or ""), volume.block, volume.size))
        if (volume := volumes.get(spec_disk.persistent_volume_claim)) is not None
        else disk
        for disk, spec_disk in zip(config.vm.disks, vm.spec.disks, strict=True)
    )
    return replace(config, vm=replace(config.vm, disks=disks))
