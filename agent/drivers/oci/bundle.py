"""The OCI runtime spec (a bundle's ``config.json``) for one container (pure).

Namespaces: pid, ipc, uts, mount always; network unless ``hostNetwork``. The pod's own network,
UTS and IPC namespaces (its sandbox's, by path) when given, else new ones. The root is the
prepared rootfs (read-only on request); /tmp is a writable tmpfs either way; the pod's volumes
are bind mounts (read-only ones ``ro``); cgroup limits come from ``CgroupLimits``.
Argv follows Kubernetes: ``command`` replaces the image entrypoint, ``args`` replaces its cmd.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.drivers.oci.limits import CgroupLimits
from agent.drivers.protocol import CannotRunError, TaskConfig
from atoll.images import ImageConfig
from atoll.user_text import bounded_repr

OCI_VERSION = "1.0.2"
TASK_ID_ANNOTATION = "atoll.dev/task-id"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TMP_SIZE = "64m"
# Docker's default capability set: enough for ordinary programs, no administration of the host.
CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
]
MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def container_argv(config: TaskConfig, image: ImageConfig) -> list[str]:
    """The process to run; CannotRunError when neither the pod nor the image names one."""
    if config.command:
        argv = [*config.command, *config.args]
    elif config.args:
        argv = [*image.entrypoint, *config.args]
    else:
        argv = [*image.entrypoint, *image.cmd]
    if not argv:
        shown = bounded_repr(config.image)
        raise CannotRunError(f"container {config.name}: no command, and image {shown} defines none")
    return argv


def container_env(config: TaskConfig, image: ImageConfig, hostname: str) -> list[str]:
    """PATH and HOSTNAME, then the image's env, then the pod's (later wins, order kept)."""
    merged: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname}
    for entry in image.env:
        key, _, value = entry.partition("=")
        merged[key] = value
    for key, value in config.env:
        merged[key] = value
    return [f"{key}={value}" for key, value in merged.items()]


def _mounts() -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777", f"size={TMP_SIZE}"]},
    ]


def _volume_mounts(config: TaskConfig) -> list[dict[str, Any]]:
    """The pod's volumes as bind mounts, after the defaults so a volume may cover /tmp."""
    return [
        {"destination": mount.destination, "type": "bind", "source": mount.source,
         "options": ["rbind", "rprivate", "nosuid", "nodev", "ro" if mount.read_only else "rw"]}
        for mount in config.mounts
        if mount.source
    ]


def _resources(limits: CgroupLimits) -> dict[str, Any]:
    resources: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    if limits.memory_limit or limits.memory_reservation:
        memory: dict[str, int] = {}
        if limits.memory_limit:
            memory["limit"] = limits.memory_limit
            memory["swap"] = limits.memory_limit
        if limits.memory_reservation:
            memory["reservation"] = limits.memory_reservation
        resources["memory"] = memory
    cpu: dict[str, int] = {}
    if limits.cpu_shares:
        cpu["shares"] = limits.cpu_shares
    if limits.cpu_quota_us:
        cpu["quota"] = limits.cpu_quota_us
        cpu["period"] = limits.cpu_period_us
    if cpu:
        resources["cpu"] = cpu
    if limits.pids_limit:
        resources["pids"] = {"limit": limits.pids_limit}
    return resources


def build_spec(config: TaskConfig, image: ImageConfig, limits: CgroupLimits, rootfs: Path,
               cgroups_path: str, shared: Mapping[str, Path] | None = None) -> dict[str, Any]:
    """The runtime spec for ``config`` with its root at ``rootfs``, cgroups at ``cgroups_path``,
    joining the namespaces ``shared`` pins (OCI type -> path: the pod's sandbox)."""
    hostname = config.hostname or config.workload
    kinds = ["pid", "ipc", "uts", "mount"] + ([] if config.host_network else ["network"])
    pinned = shared or {}
    namespaces = [{"type": kind, "path": str(pinned[kind])} if kind in pinned else {"type": kind} for kind in kinds]
    capabilities = list(CAPABILITIES)
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": config.tty,  # the shim takes the master over the console socket
            "user": {"uid": 0, "gid": 0},
            "args": container_argv(config, image),
            "env": container_env(config, image, hostname),
            "cwd": config.working_dir or image.working_dir or "/",
            "capabilities": {key: capabilities for key in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": config.read_only_root},
        "hostname": hostname,
        "mounts": [*_mounts(), *_volume_mounts(config)],
        "annotations": {TASK_ID_ANNOTATION: config.task_id},
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": cgroups_path,
            "resources": _resources(limits),
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
        },
    }
