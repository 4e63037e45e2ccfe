"""Cgroup limits of one container, from its resources and annotations (pure).

The task config carries memory request/limit and one cpu figure; a CPU hard cap and a pids limit
are not in it yet, so they come from pod annotations (``oci.atoll.dev/cpu-limit: 500m``,
``oci.atoll.dev/pids-limit: "64"``) or, for pids, the driver's default.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.drivers.protocol import CannotRunError, TaskConfig
from atoll.quantity import QuantityError, cpu_millis
from atoll.user_text import bounded_repr

CPU_LIMIT_ANNOTATION = "oci.atoll.dev/cpu-limit"
PIDS_LIMIT_ANNOTATION = "oci.atoll.dev/pids-limit"
CPU_PERIOD_US = 100_000
MIN_CPU_SHARES = 2
MIN_CPU_QUOTA_US = 1_000


@dataclass(frozen=True)
class CgroupLimits:
    """What the kernel enforces; 0 means not set (the runtime's default)."""

    memory_limit: int = 0
    memory_reservation: int = 0
    cpu_shares: int = 0
    cpu_quota_us: int = 0
    cpu_period_us: int = CPU_PERIOD_US
    pids_limit: int = 0


def _annotation_int(config: TaskConfig, key: str) -> int:
    text = config.annotation(key)
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise CannotRunError(f"annotation {key}={bounded_repr(text)} is not a whole number") from None
    if value < 0:
        raise CannotRunError(f"annotation {key}={bounded_repr(text)} must not be negative")
    return value


def _cpu_limit_millis(config: TaskConfig) -> int:
    text = config.annotation(CPU_LIMIT_ANNOTATION)
    if not text:
        return 0
    try:
        return cpu_millis(text)
    except QuantityError as err:
        raise CannotRunError(f"annotation {CPU_LIMIT_ANNOTATION}={bounded_repr(text)}: {err}") from None


def limits_for(config: TaskConfig, default_pids_limit: int = 0) -> CgroupLimits:
    """The limits ``config`` asks for. Memory swap is capped at the limit, so an over-limit
    process is OOM-killed rather than swapped. CannotRunError for malformed annotations."""
    resources = config.resources
    millis = resources.cpu_millis
    cap = _cpu_limit_millis(config)
    return CgroupLimits(
        memory_limit=resources.memory_limit,
        memory_reservation=min(resources.memory_request, resources.memory_limit or resources.memory_request),
        cpu_shares=max(MIN_CPU_SHARES, millis * 1024 // 1000) if millis else 0,
        cpu_quota_us=max(MIN_CPU_QUOTA_US, cap * CPU_PERIOD_US // 1000) if cap else 0,
        pids_limit=_annotation_int(config, PIDS_LIMIT_ANNOTATION) or default_pids_limit,
    )
