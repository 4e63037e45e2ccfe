"""The OCI runtime binary (runc or crun) behind one small async interface.

Every call passes ``--root STATE_ROOT`` so atoll's containers live apart from any other user of
the runtime. crun (1.8) refuses hybrid cgroup hosts (v1 controllers plus a v2 mount at
``/sys/fs/cgroup/unified``: "cgroups in hybrid mode not supported"); there every crun call runs in
a private mount namespace where that v2 mount is unmounted (``unshare -m``), which leaves the
host's mounts untouched and gives crun a pure v1 view.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.drivers.proc import Completed, run_command

HYBRID_V2_MOUNT = "/sys/fs/cgroup/unified"
# Runs "$@" after hiding the cgroup v2 mount; the umount only affects the new mount namespace.
HIDE_V2 = f'umount {HYBRID_V2_MOUNT} 2>/dev/null; exec "$@"'
RUNTIMES = ("runc", "crun")


class RuntimeCommandError(Exception):
    """A runtime command failed; the message is the runtime's own last line."""


def hybrid_cgroups(mountinfo: Path = Path("/proc/self/mountinfo")) -> bool:
    """True when cgroup v1 controllers and a cgroup2 mount at /sys/fs/cgroup/unified coexist."""
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return False
    v1 = v2 = False
    for line in lines:
        fields = line.split()
        separator = fields.index("-") if "-" in fields else -1
        if separator < 0 or len(fields) <= separator + 1:
            continue
        fstype = fields[separator + 1]
        v1 = v1 or fstype == "cgroup"
        v2 = v2 or (fstype == "cgroup2" and fields[4] == HYBRID_V2_MOUNT)
    return v1 and v2


@dataclass(frozen=True)
class RuntimeProbe:
    ok: bool
    reason: str = ""
    version: str = ""


class OciRuntime:
    """``name`` is runc or crun; ``root`` is the runtime's state directory for atoll's containers."""

    def __init__(self, name: str, root: Path, binary: str | None = None) -> None:
        if name not in RUNTIMES:
            raise ValueError(f"unknown OCI runtime {name!r}; known: {', '.join(RUNTIMES)}")
        self.name = name
        self.root = root
        self.binary = binary or shutil.which(name) or name
        self.hide_v2 = name == "crun" and hybrid_cgroups()

    def argv(self) -> list[str]:
        """The command prefix for this runtime (the shim appends create/start arguments)."""
        base = [self.binary, "--root", str(self.root)]
        if self.hide_v2:
            return ["unshare", "--mount", "--propagation", "private", "sh", "-c", HIDE_V2, "sh", *base]
        return base

    async def _call(self, *args: str, timeout: float = 30.0) -> Completed:
        return await run_command([*self.argv(), *args], timeout=timeout)

    async def _checked(self, *args: str, timeout: float = 30.0) -> Completed:
        done = await self._call(*args, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeCommandError(f"{self.name} {args[0]}: {done.error_line}")
        return done

    async def probe(self) -> RuntimeProbe:
        """Whether the runtime can run containers here, without starting one."""
        if shutil.which(self.binary) is None:
            return RuntimeProbe(False, f"{self.name} not found: install the Debian package {self.name}")
        if self.hide_v2 and shutil.which("unshare") is None:
            return RuntimeProbe(False, "crun refuses hybrid cgroups and unshare (util-linux) is missing to hide v2")
        try:
            version = await run_command([self.binary, "--version"], timeout=10)
            listing = await self._call("list", "--format", "json", timeout=10)
        except (OSError, TimeoutError) as err:
            return RuntimeProbe(False, f"{self.name}: {err}")
        if listing.returncode != 0:
            return RuntimeProbe(False, f"{self.name} list: {listing.error_line}")
        first = version.stdout.splitlines()[0] if version.stdout else self.name
        note = " (hybrid cgroups: runs with /sys/fs/cgroup/unified hidden)" if self.hide_v2 else ""
        return RuntimeProbe(True, version=first + note)

    async def state(self, container_id: str) -> dict[str, Any] | None:
        """The runtime's state of the container (status: created, running, paused, stopped), or
        None when the runtime does not know it."""
        done = await self._call("state", container_id)
        if done.returncode != 0:
            return None
        state: dict[str, Any] = json.loads(done.stdout)
        return state

    async def containers(self) -> list[dict[str, Any]]:
        """Every container under this runtime root (``runtime list``)."""
        done = await self._checked("list", "--format", "json")
        listed: list[dict[str, Any]] = json.loads(done.stdout or "null") or []
        return listed

    async def kill(self, container_id: str, signal_name: str) -> None:
        """Send a signal to the container's init; a container that is already gone is not an error."""
        await self._call("kill", container_id, signal_name)

    async def pause(self, container_id: str) -> None:
        await self._checked("pause", container_id)

    async def resume(self, container_id: str) -> None:
        await self._checked("resume", container_id)

    async def delete(self, container_id: str) -> None:
        """Remove the container and its cgroups (killing it first); unknown ids are fine."""
        await self._call("delete", "--force", container_id)

    async def exec(self, container_id: str, argv: list[str], timeout: float) -> Completed:
        return await self._call("exec", container_id, *argv, timeout=timeout)

    def exec_argv(self, container_id: str, argv: list[str], *, tty: bool, pid_file: Path, log_file: Path) -> list[str]:
        """The command line that runs ``argv`` in the container's namespaces and cgroup, in the
        foreground (its exit code is the process's, 128+N for signal N); the process's host pid
        goes to ``pid_file`` and the runtime's own errors (JSON lines) to ``log_file``."""
        flags = ["--tty"] if tty else []
        return [*self.argv(), "--log", str(log_file), "--log-format", "json",
                "exec", *flags, "--pid-file", str(pid_file), container_id, *argv]
