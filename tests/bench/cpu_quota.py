"""``--cpu-quota CORES``: run a whole benchmark (this process and every child it starts, the
calibration echo included) on a CFS quota of CORES cores, to reproduce a slower machine.

A cgroup of the cgroup v1 ``cpu`` controller (``/sys/fs/cgroup/cpu/atoll-bench-quota-PID``) with
``cpu.cfs_quota_us`` = CORES x ``cpu.cfs_period_us``; this process moves into it before it starts
anything, so its children inherit it. On the way out the process moves back to the cgroup it
came from and the quota's cgroup is removed. A run killed with -9 leaves an empty cgroup behind:
the next run removes every ``atoll-bench-quota-*`` cgroup that has no process left.

Needs root and the v1 ``cpu`` controller mounted (as on the development machines); otherwise
``QuotaUnavailable`` says which, in one line. The benchmark's calibration line shows the effect:
choose CORES so that the echo makes the calls/s of the machine you want to model.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

CPU_CONTROLLER = Path("/sys/fs/cgroup/cpu")
PREFIX = "atoll-bench-quota-"
MIN_CORES = 0.05


class QuotaUnavailable(RuntimeError):
    """The quota cannot be set up here; the message says why, in one line."""


def parse_cores(text: str) -> float:
    """``--cpu-quota`` as a number of cores (an argparse ``type``): a number between 0.05 and
    the machine's core count, else ArgumentTypeError saying so."""
    available = os.cpu_count() or 1
    try:
        cores = float(text)
    except ValueError:
        cores = float("nan")
    if not MIN_CORES <= cores <= available:  # NaN fails too
        raise argparse.ArgumentTypeError(
            f"expected a number of cores from {MIN_CORES} to {available}, got {text[:40]!r}"
        )
    return cores


def _own_cgroup() -> Path:
    """The v1 cpu cgroup this process is in now."""
    for line in Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return CPU_CONTROLLER / path.lstrip("/")
    raise QuotaUnavailable("--cpu-quota: this process is in no cgroup v1 cpu controller")


def remove_stale() -> None:
    """Remove the quota cgroups of earlier runs that no process uses any more."""
    for stale in CPU_CONTROLLER.glob(PREFIX + "*"):
        with contextlib.suppress(OSError):
            stale.rmdir()  # refused while a process is still in it


@contextlib.contextmanager
def cpu_quota(cores: float | None) -> Iterator[None]:
    """This process (and what it starts inside the block) limited to ``cores`` cores; None: no
    limit, nothing done. Raises QuotaUnavailable before changing anything when it cannot."""
    if cores is None:
        yield
        return
    if not (CPU_CONTROLLER / "cpu.cfs_quota_us").exists():
        raise QuotaUnavailable(f"--cpu-quota: no cgroup v1 cpu controller at {CPU_CONTROLLER}")
    if os.geteuid() != 0:
        raise QuotaUnavailable("--cpu-quota: needs root (it creates a cgroup)")
    remove_stale()
    home = _own_cgroup()
    group = CPU_CONTROLLER / f"{PREFIX}{os.getpid()}"
    group.mkdir(exist_ok=True)
    try:
        period = int((group / "cpu.cfs_period_us").read_text(encoding="utf-8"))
        (group / "cpu.cfs_quota_us").write_text(str(max(1000, round(cores * period))), encoding="utf-8")
        (group / "cgroup.procs").write_text(str(os.getpid()), encoding="utf-8")
        try:
            yield
        finally:
            (home / "cgroup.procs").write_text(str(os.getpid()), encoding="utf-8")
    finally:
        with contextlib.suppress(OSError):
            group.rmdir()  # refused if a child outlived the benchmark; the next run removes it
