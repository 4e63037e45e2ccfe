"""A Docker daemon of a benchmark's own, leaving the host as it found it.

``private_dockerd`` starts ``dockerd`` (Debian's docker.io) with its own data root, exec root,
unix socket, containerd namespaces and cgroup parent, inside a network namespace of its own: its
bridge, iptables rules, the swarm's ingress network and every container's veth live there, and
the swarm listens on that namespace's loopback. Nothing it does reaches the host's interfaces.
On the way out it leaves the swarm, stops the daemon (which stops its containerd), kills what is
left in its cgroup, unmounts what it mounted and removes its directory; the namespace goes last.

A run killed with SIGKILL leaves all of that behind: ``sweep_stale`` (called on every start)
removes the leftovers of runs whose benchmark process is gone, so the next run starts clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.bench.supervisor import Supervisor
from tests.support.netns import NETNS_DIR, scratch_netns

API_VERSION = "v1.41"  # Docker 20.10's, the oldest the benchmark speaks
SCRATCH_PREFIX = "atoll-bench-dockerd-"
OWNER_FILE = "owner.pid"
CGROUP_ROOT = Path("/sys/fs/cgroup")
READY_TIMEOUT_S = 60.0
NETNS_PREFIX = "atoll-bench-docker"  # scratch_netns adds -t<PID of the benchmark>-<random>
# Made by every dockerd whatever its roots (its plugin socket directory); removed when empty.
PLUGIN_SOCKETS = Path("/run/docker/plugins")


def why_unavailable() -> str | None:
    """None when a private dockerd can run here, else the reason (for a skip line)."""
    if shutil.which("dockerd") is None:
        return "dockerd not found (apt-get install docker.io)"
    if os.geteuid() != 0:
        return "dockerd needs root"
    return None


@dataclass
class Dockerd:
    """A running private daemon: its socket, and an HTTP session speaking its API."""

    socket: Path
    session: aiohttp.ClientSession

    def url(self, path: str) -> str:
        return f"http://docker/{API_VERSION}{path}"

    async def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                   params: Mapping[str, str] | None = None) -> Any:
        """One API call; the decoded JSON reply (None when empty). A status >= 400 raises
        RuntimeError with the daemon's message."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        async with self.session.request(method, self.url(path), data=data, params=params) as reply:
            text = await reply.text()
            if reply.status >= 400:
                raise RuntimeError(f"docker {method} {path}: {reply.status} {text.strip()[:300]}")
            return json.loads(text) if text.strip() else None

    @contextlib.asynccontextmanager
    async def event_stream(self, filters: Mapping[str, list[str]]) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """The daemon's events from the moment this is entered (the stream is open then), decoded."""
        params = {"filters": json.dumps(filters)}
        async with self.session.get(self.url("/events"), params=params, timeout=aiohttp.ClientTimeout()) as reply:
            if reply.status >= 400:
                raise RuntimeError(f"docker GET /events: {reply.status} {(await reply.text()).strip()[:300]}")

            async def decoded() -> AsyncIterator[dict[str, Any]]:
                async for line in reply.content:
                    if line.strip():
                        yield json.loads(line)

            yield decoded()

    async def import_rootfs(self, rootfs: Path, repository: str, tag: str) -> None:
        """``docker import`` of a root filesystem directory as ``repository:tag``."""
        with tempfile.TemporaryFile() as archive:
            with tarfile.open(fileobj=archive, mode="w") as tar:
                tar.add(rootfs, arcname=".")
            archive.seek(0)
            await self.call("POST", "/images/create", raw=archive.read(),
                            params={"fromSrc": "-", "repo": repository, "tag": tag})


@contextlib.asynccontextmanager
async def private_dockerd(children: Supervisor) -> AsyncIterator[Dockerd]:
    """A private daemon, supervised by ``children`` (its death fails the benchmark), with a swarm
    of one manager initialised on its namespace's loopback. See the module docstring."""
    sweep_stale()
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    (scratch / OWNER_FILE).write_text(str(os.getpid()))
    tag = scratch.name
    socket = scratch / "docker.sock"
    try:
        with scratch_netns(NETNS_PREFIX) as netns:
            child = children.start("dockerd", [
                "nsenter", f"--net={NETNS_DIR / netns}", "dockerd",
                "--data-root", str(scratch / "data"), "--exec-root", str(scratch / "exec"),
                "--pidfile", str(scratch / "dockerd.pid"), "-H", f"unix://{socket}",
                "--containerd-namespace", tag, "--containerd-plugins-namespace", f"{tag}-plugins",
                "--cgroup-parent", tag, "--exec-opt", "native.cgroupdriver=cgroupfs",
            ])  # fmt: skip
            connector = aiohttp.UnixConnector(path=str(socket))
            try:
                async with aiohttp.ClientSession(connector=connector) as session:
                    daemon = Dockerd(socket, session)
                    await _until_up(daemon, children)
                    await daemon.call("POST", "/swarm/init",
                                      {"ListenAddr": "127.0.0.1:2377", "AdvertiseAddr": "127.0.0.1"})
                    try:
                        yield daemon
                    finally:
                        with contextlib.suppress(RuntimeError, aiohttp.ClientError):
                            await daemon.call("POST", "/swarm/leave", params={"force": "true"})
            finally:
                children.stop(child, grace=30)
                _clean(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def _until_up(daemon: Dockerd, children: Supervisor) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        children.check()
        with contextlib.suppress(aiohttp.ClientError, RuntimeError):
            await daemon.call("GET", "/info")
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"dockerd did not answer on {daemon.socket} within {READY_TIMEOUT_S:g} s")
        await asyncio.sleep(0.1)


def sweep_stale() -> None:
    """Remove what runs killed with SIGKILL left: scratch dirs whose owner process is gone, and the
    network namespaces of benchmark processes that are gone."""
    for scratch in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        try:
            owner = int((scratch / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        pid_file = scratch / "dockerd.pid"
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        _clean(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
    for pinned in NETNS_DIR.glob(f"{NETNS_PREFIX}-t*-*"):
        tag = pinned.name.removeprefix(f"{NETNS_PREFIX}-t").split("-")[0]
        if tag.isdigit() and not _alive(int(tag)):
            subprocess.run(["ip", "netns", "del", pinned.name], check=False, capture_output=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean(scratch: Path) -> None:
    """Kill every process of the daemon's cgroup (containers, shims), then unmount what it
    mounted under ``scratch``, deepest first."""
    _kill_cgroups(scratch.name)
    for process in _processes_naming(str(scratch)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process, signal.SIGKILL)
    for mount_point in sorted(_mounts_under(scratch), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount_point], check=False, capture_output=True)
    for directory in (PLUGIN_SOCKETS, PLUGIN_SOCKETS.parent):
        with contextlib.suppress(OSError):  # not empty: another daemon's, kept
            directory.rmdir()


def _kill_cgroups(name: str) -> None:
    """SIGKILL every process in the cgroup ``name`` (and below) of every hierarchy, v1 or v2,
    then remove those cgroups."""
    groups = [group for group in CGROUP_ROOT.glob(f"*/{name}") if group.is_dir()]
    groups += [CGROUP_ROOT / name] if (CGROUP_ROOT / name).is_dir() else []
    tree = sorted((path for group in groups for path in (group, *group.rglob("*")) if path.is_dir()),
                  key=lambda path: len(path.parts), reverse=True)
    for directory in tree:
        with contextlib.suppress(OSError, ValueError):
            for pid in (directory / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    for directory in tree:
        while directory.exists() and time.monotonic() < deadline:
            try:
                directory.rmdir()
            except OSError:
                time.sleep(0.05)  # its last processes are still exiting


def _processes_naming(text: str) -> Iterator[int]:
    """Processes whose command line contains ``text`` (shims and containerd of a stale daemon)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if text.encode() in (entry / "cmdline").read_bytes():
                yield int(entry.name)


def _mounts_under(scratch: Path) -> list[str]:
    prefix = f"{scratch}/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(prefix):
            points.append(point)
    return points
