"""Reading a container's memory cgroup: OOM kills and usage, on cgroup v1 (memory.oom_control)
and v2 (memory.events). The runtime creates the cgroup at ``cgroupsPath``; it stays after the
container exits until ``RUNTIME delete``, which is when the driver reads the OOM count."""

from __future__ import annotations

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def memory_cgroup(cgroups_path: str, root: Path = CGROUP_ROOT) -> Path:
    """The directory of the memory cgroup at ``cgroups_path`` (v1 memory hierarchy, else v2)."""
    relative = cgroups_path.lstrip("/")
    v1 = root / "memory"
    return v1 / relative if v1.is_dir() else root / relative


def _counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def oom_kills(cgroup: Path) -> int:
    """How many processes the kernel OOM-killed in ``cgroup`` (0 when it is gone)."""
    if (cgroup / "memory.oom_control").exists():
        return _counter(cgroup / "memory.oom_control", "oom_kill")
    return _counter(cgroup / "memory.events", "oom_kill")


def memory_usage(cgroup: Path) -> int:
    """Bytes charged to ``cgroup`` now (0 when it is gone)."""
    for name in ("memory.usage_in_bytes", "memory.current"):
        try:
            return int((cgroup / name).read_text().strip())
        except (OSError, ValueError):
            continue
    return 0
