"""``oci``: real Linux containers through an OCI runtime (runc by default, crun selectable).

start: resolve the image in the node's store -> overlay rootfs -> bundle (namespaces, cgroup
limits) -> a detached shim runs ``create`` + ``start`` and waits for the container -> RUNNING.
The shim's exit is watched through a pidfd; its exit.json plus the cgroup's OOM counter make the
ExitResult (Completed, Error, OOMKilled). stop: SIGTERM, SIGKILL after the grace period.
destroy: ``RUNTIME delete`` (cgroups), unmount, remove the task dir. After an agent restart,
``list_tasks`` reads the task dirs and ``recover`` re-attaches through ``RUNTIME state`` and the
shim's pid. Abilities: logs (container.log, stamped per line by the shim; the previous run's kept
in ``previous-logs/``), pause/resume (freezer), exec (one-shot for probes;
interactive sessions through oci/exec_session.py), attach to a ``tty: true`` container's terminal
(held by its shim: oci/terminal_attach.py), the container's network namespace for
probes (it has no pod address yet), and image pulls (``settings.pulls``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent.drivers import logfile
from agent.drivers.abilities import ALL_LINES, ExecResult, PreviousLogNotFoundError, SandboxConfig
from agent.drivers.log_lines import LogLine, LogQuery
from agent.drivers.oci import pod_network, rootfs
from agent.drivers.oci.bundle import build_spec
from agent.drivers.oci.cgroups import memory_cgroup, memory_usage, oom_kills
from agent.drivers.oci.exec_session import open_exec_session
from agent.drivers.oci.limits import CgroupLimits, limits_for
from agent.drivers.oci.log_reader import container_lines
from agent.drivers.oci.runtime import OciRuntime, RuntimeCommandError
from agent.drivers.oci.shim import TTY_FLAG
from agent.drivers.oci.taskdir import ExitRecord, TaskDir, TaskRecord, container_id_for
from agent.drivers.oci.terminal_attach import open_terminal
from agent.drivers.previous_logs import PreviousLogs
from agent.drivers.proc import ExitWatch, process_matches
from agent.drivers.protocol import (
    CannotRunError,
    Capabilities,
    DriverError,
    DriverFingerprint,
    ExitResult,
    Listener,
    StartError,
    TaskConfig,
    TaskExistsError,
    TaskHandle,
    TaskNotFoundError,
    TaskPhase,
    TaskRunningError,
    TaskStatus,
    workload_uid_of,
)
from agent.drivers.session import AttachedSession, ExecOptions, ProcessSession
from agent.images.node_images import NodeImages
from agent.images.pull_types import ImageReady, PullRequest
from agent.network.sandboxes import NodeSandboxes
from atoll.fd_wait import writable
from atoll.images import ImageConfig, ImageError, ImageStore, default_image_dir

NAME = "oci"
SHIM = Path(__file__).with_name("shim.py")
CGROUP_PARENT = "atoll"
HANDSHAKE_TIMEOUT = 30.0
KILL_SETTLE_TIMEOUT = 10.0
# Runtime messages that no retry can fix: the image lacks the program, or the config is invalid.
CANNOT_RUN_MARKERS = ("executable file not found", "no such file or directory", "permission denied")


@dataclass(frozen=True)
class OciSettings:
    """``state_dir`` holds task dirs, the runtime root and (by default) the image store.
    ``sandboxes``: the node's pod sandboxes (its CNI network), shared by every OCI driver of the
    node; None runs each container in a network namespace of its own (loopback only).
    ``cgroup_parent``: where containers' cgroups go (``atoll/NODE``: two agents on one host
    keep apart)."""

    state_dir: Path
    runtime: str = "runc"
    name: str = NAME
    image_dir: Path | None = None
    default_pids_limit: int = 4096
    runtime_binary: str | None = None
    host_ip: str = ""
    python: str = sys.executable
    sandboxes: NodeSandboxes | None = None
    cgroup_parent: str = CGROUP_PARENT
    # Pulls into the image store (shared by the node's OCI drivers); None: imported images only.
    pulls: NodeImages | None = None


@dataclass
class _Container:
    record: TaskRecord
    dir: TaskDir
    phase: TaskPhase = TaskPhase.RUNNING
    exit: ExitResult | None = None
    stop_requested: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    watch: ExitWatch | None = None


class OciDriver:
    def __init__(self, settings: OciSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.images = ImageStore(settings.image_dir or default_image_dir(settings.state_dir))
        self.runtime = OciRuntime(settings.runtime, settings.state_dir / settings.runtime, settings.runtime_binary)
        self._tasks_dir = settings.state_dir / "tasks"
        self._previous = PreviousLogs(settings.state_dir / "previous-logs")
        self._tasks: dict[str, _Container] = {}
        self._listener: Listener = lambda task_id: None
        if settings.pulls is not None:
            settings.pulls.add_user(self.images_in_use)

    # --- facts -------------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return Capabilities(kinds=frozenset({"container"}), os="linux", mounts=True)

    async def fingerprint(self) -> DriverFingerprint:
        probe = await self.runtime.probe()
        if not probe.ok:
            return DriverFingerprint(healthy=False, reason=probe.reason)
        if "overlay" not in Path("/proc/filesystems").read_text():
            return DriverFingerprint(healthy=False, reason="the kernel has no overlay filesystem for container roots")
        return DriverFingerprint(healthy=True, reason=probe.version)

    def set_listener(self, listener: Listener) -> None:
        self._listener = listener

    # --- images (abilities.ImagePuller) ------------------------------------------------------

    def pull_needed(self, request: PullRequest) -> bool:
        return self.settings.pulls is not None and self.settings.pulls.pull_needed(request)

    def images_in_use(self) -> set[str] | None:
        """The store references of every task dir, running or not yet adopted; None when a record
        does not say (written before records named their image): then nothing may be collected."""
        used: set[str] = set()
        for path in self._tasks_dir.glob("*") if self._tasks_dir.is_dir() else ():
            record = TaskDir(path).load()
            if record is None or not record.image:
                return None
            used.add(record.image)
        return used

    async def ensure_image(self, request: PullRequest) -> ImageReady:
        if self.settings.pulls is None:
            return ImageReady(request.image, "")  # start finds an imported image, or says how to import one
        return await self.settings.pulls.ensure(request)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, config: TaskConfig) -> TaskHandle:
        container_id = container_id_for(config.task_id)
        task_dir = TaskDir(self._tasks_dir / container_id)
        if config.task_id in self._tasks or task_dir.path.exists():
            raise TaskExistsError(f"task {config.task_id} exists; destroy it before starting it again")
        image_rootfs, image_config, limits = self._admit(config)
        shared = pod_network.namespaces_for(self.settings.sandboxes, config)
        task_dir.path.mkdir(parents=True)
        if config.stdin:
            os.mkfifo(task_dir.stdin, 0o600)
        record = TaskRecord(
            task_id=config.task_id,
            container_id=container_id,
            started_at=time.time(),
            cgroups_path=f"/{self.settings.cgroup_parent}/{container_id}",
            host_network=config.host_network,
            overlay=not config.read_only_root,
            image=config.image,
            tty=config.tty,
        )
        try:
            root = self._prepare_root(image_rootfs, task_dir, record.overlay)
            task_dir.write_spec(build_spec(config, image_config, limits, root, record.cgroups_path, shared))
            container_pid, shim_pid = await self._launch(task_dir, container_id, tty=config.tty)
        except BaseException:
            await self._remove(task_dir, container_id)
            raise
        record = replace(record, container_pid=container_pid, shim_pid=shim_pid)
        task_dir.save(record)
        container = _Container(record, task_dir)
        self._tasks[config.task_id] = container
        container.watch = ExitWatch(shim_pid, lambda: self._shim_exited(container))
        return self._handle(container)

    def _admit(self, config: TaskConfig) -> tuple[Path, ImageConfig, CgroupLimits]:
        if config.kind != "container":
            raise CannotRunError(f"{self.name} runs containers, not virtual machines")
        if config.os != "linux":
            raise CannotRunError(f"{self.name} runs Linux containers; this pod's os is {config.os}")
        try:
            image = self.images.resolve(config.image)
        except ImageError as err:
            raise CannotRunError(str(err)) from None
        limits = limits_for(config, self.settings.default_pids_limit)
        return image.rootfs, image.config, limits

    def _prepare_root(self, image_rootfs: Path, task_dir: TaskDir, overlay: bool) -> Path:
        if not overlay:
            return image_rootfs
        try:
            rootfs.mount_overlay(image_rootfs, task_dir.upper, task_dir.work, task_dir.rootfs)
        except rootfs.RootfsError as err:
            raise StartError(str(err)) from None
        return task_dir.rootfs

    async def _launch(self, task_dir: TaskDir, container_id: str, *, tty: bool) -> tuple[int, int]:
        """Run the shim (``tty``: holding the container's terminal); (container pid, shim pid) once
        the container runs."""
        flags = [TTY_FLAG] if tty else []
        with task_dir.shim_log.open("ab") as shim_log:
            process = await asyncio.create_subprocess_exec(
                self.settings.python, "-I", "-S", str(SHIM), *flags, str(task_dir.path), container_id,
                *self.runtime.argv(),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=shim_log,
                start_new_session=True,
            )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                line = (await process.stdout.readline()).decode().strip()
        except TimeoutError:
            raise StartError(f"{self.runtime.name}: shim silent for {HANDSHAKE_TIMEOUT:g}s") from None
        finally:
            await process.wait()
        verb, _, rest = line.partition(" ")
        if verb == "started":
            container_pid, shim_pid = (int(part) for part in rest.split())
            return container_pid, shim_pid
        shim_errors = logfile.read_text(task_dir.shim_log).strip().splitlines()
        message = rest or (shim_errors[-1] if shim_errors else "the container shim failed without a word")
        text = f"{self.runtime.name}: {_runtime_message(message)}"
        if any(marker in text.lower() for marker in CANNOT_RUN_MARKERS):
            raise CannotRunError(text)
        raise StartError(text)

    async def wait(self, task_id: str) -> ExitResult:
        container = self._task(task_id)
        await container.done.wait()
        assert container.exit is not None
        return container.exit

    async def stop(self, task_id: str, timeout: float) -> ExitResult:
        container = self._task(task_id)
        if container.exit is None and not container.stop_requested:
            container.stop_requested = True
            was_paused = container.phase is TaskPhase.PAUSED
            container.phase = TaskPhase.STOPPING
            await self.runtime.kill(container.record.container_id, "TERM")
            if was_paused:
                await self._try_resume(container)
            try:
                async with asyncio.timeout(max(0.0, timeout)):
                    await container.done.wait()
            except TimeoutError:
                await self.runtime.kill(container.record.container_id, "KILL")
        try:
            async with asyncio.timeout(KILL_SETTLE_TIMEOUT + max(0.0, timeout)):
                return await self.wait(task_id)
        except TimeoutError:
            raise DriverError(f"task {task_id} did not end after SIGKILL") from None

    async def destroy(self, task_id: str, force: bool = False) -> None:
        container = self._tasks.get(task_id)
        if container is None:
            await self._destroy_orphan(task_id)
            return
        if container.exit is None:
            if not force:
                raise TaskRunningError(f"task {task_id} is {container.phase.value}; stop it or destroy with force")
            container.stop_requested = True
            await self.runtime.kill(container.record.container_id, "KILL")
            await self._try_resume(container)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(KILL_SETTLE_TIMEOUT):
                    await container.done.wait()
        if container.watch is not None:
            container.watch.cancel()
        await self._remove(container.dir, container.record.container_id)
        del self._tasks[task_id]

    async def _destroy_orphan(self, task_id: str) -> None:
        task_dir = TaskDir(self._tasks_dir / container_id_for(task_id))
        if task_dir.path.exists():
            await self._remove(task_dir, container_id_for(task_id))

    async def _remove(self, task_dir: TaskDir, container_id: str) -> None:
        await self.runtime.delete(container_id)
        try:
            rootfs.unmount(task_dir.rootfs)
        except rootfs.RootfsError as err:
            raise DriverError(str(err)) from None
        await asyncio.to_thread(shutil.rmtree, task_dir.path, True)

    async def inspect(self, task_id: str) -> TaskStatus:
        container = self._task(task_id)
        used = 0
        if container.exit is None:
            used = memory_usage(memory_cgroup(container.record.cgroups_path))
        return TaskStatus(
            task_id=task_id,
            phase=container.phase,
            started_at=container.record.started_at,
            exit=container.exit,
            memory_used=used,
            ip=self.settings.host_ip if container.record.host_network else pod_network.pod_ip(
                self.settings.sandboxes, workload_uid_of(task_id)),
        )

    # --- pod sandboxes (abilities.PodSandboxes, PodCidrAware) -------------------------------

    async def run_sandbox(self, config: SandboxConfig) -> str:
        return await pod_network.run_sandbox(self.settings.sandboxes, config)

    async def remove_sandbox(self, workload_uid: str) -> None:
        await pod_network.remove_sandbox(self.settings.sandboxes, workload_uid)

    async def remove_orphan_sandboxes(self, is_live: Callable[[str], bool]) -> list[str]:
        return await pod_network.remove_orphans(self.settings.sandboxes, is_live)

    def set_pod_cidr(self, cidr: str) -> bool:
        sandboxes = self.settings.sandboxes
        return sandboxes is not None and sandboxes.network.set_pod_cidr(cidr)

    # --- adoption ----------------------------------------------------------------------------

    async def list_tasks(self) -> list[TaskHandle]:
        handles = {task_id: self._handle(container) for task_id, container in self._tasks.items()}
        if self._tasks_dir.is_dir():
            for path in sorted(self._tasks_dir.iterdir()):
                record = TaskDir(path).load()
                if record is not None and record.task_id not in handles:
                    handles[record.task_id] = TaskHandle(record.task_id, self.name, record.started_at,
                                                         {"container_id": record.container_id})
        return list(handles.values())

    async def recover(self, handle: TaskHandle) -> bool:
        if handle.task_id in self._tasks:
            return True
        task_dir = TaskDir(self._tasks_dir / container_id_for(handle.task_id))
        record = task_dir.load()
        if record is None:
            return False
        container = _Container(record, task_dir)
        self._tasks[record.task_id] = container
        state = await self.runtime.state(record.container_id)
        status = (state or {}).get("status", "stopped")
        watched: int | None = None  # the pid whose exit ends the task, while it runs
        if task_dir.exit_record() is None:
            if process_matches(record.shim_pid, str(task_dir.path)):
                watched = record.shim_pid
            elif state and status in ("running", "paused"):
                # The shim is gone but the container lives: follow it; its exit code is lost.
                watched = int(state.get("pid", 0))
        if watched is not None:
            container.phase = TaskPhase.PAUSED if status == "paused" else TaskPhase.RUNNING
            container.watch = ExitWatch(watched, lambda: self._shim_exited(container))
        else:
            self._shim_exited(container, notify=False)
        self._listener(record.task_id)
        return True

    async def close(self) -> None:
        """Stop watching every task and forget them, touching none (what an agent exit does; a
        later driver on the same state dir adopts them)."""
        for container in self._tasks.values():
            if container.watch is not None:
                container.watch.cancel()
        self._tasks.clear()

    # --- abilities ---------------------------------------------------------------------------

    async def pause(self, task_id: str) -> None:
        container = self._task(task_id)
        if container.phase is TaskPhase.PAUSED:
            return
        if container.phase is not TaskPhase.RUNNING:
            raise DriverError(f"task {task_id} is {container.phase.value}: only a Running container can be paused")
        try:
            await self.runtime.pause(container.record.container_id)
        except RuntimeCommandError as err:
            raise DriverError(str(err)) from None
        if container.exit is None:
            container.phase = TaskPhase.PAUSED

    async def resume(self, task_id: str) -> None:
        container = self._task(task_id)
        if container.phase is not TaskPhase.PAUSED:
            return
        try:
            await self.runtime.resume(container.record.container_id)
        except RuntimeCommandError as err:
            raise DriverError(str(err)) from None
        if container.exit is None:
            container.phase = TaskPhase.RUNNING

    async def _try_resume(self, container: _Container) -> None:
        with contextlib.suppress(RuntimeCommandError):
            await self.runtime.resume(container.record.container_id)

    async def logs(self, task_id: str, query: LogQuery = ALL_LINES) -> AsyncIterator[LogLine]:
        if query.previous:
            path = self._previous.path(task_id)
            if not path.exists():
                raise PreviousLogNotFoundError(f"{self.name}: no previous log of task {task_id}")
            lines = container_lines(path, replace(query, follow=False), ended=lambda: True)
        else:
            container = self._task(task_id)
            lines = container_lines(container.dir.log, query, ended=lambda: container.exit is not None)
        async for line in lines:
            yield line

    async def keep_previous_log(self, task_id: str) -> None:
        container = self._tasks.get(task_id)
        if container is not None and container.exit is None:
            raise TaskRunningError(f"task {task_id} is {container.phase.value}: its log is still being written")
        task_dir = container.dir if container else TaskDir(self._tasks_dir / container_id_for(task_id))
        self._previous.keep(task_id, task_dir.log)

    async def forget_logs(self, task_id: str) -> None:
        self._previous.forget(task_id)

    async def remove_orphan_logs(self, is_live: Callable[[str], bool]) -> list[str]:
        return self._previous.remove_orphans(is_live)

    async def write_stdin(self, task_id: str, data: bytes) -> None:
        container = self._task(task_id)
        if container.exit is not None:
            raise DriverError(f"task {task_id} has ended: its stdin is closed")
        if not container.dir.stdin.exists():
            raise DriverError(f"task {task_id} was started without stdin (stdin: true in its container)")
        fd = os.open(container.dir.stdin, os.O_WRONLY | os.O_NONBLOCK)
        try:
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(fd, view):]
                except BlockingIOError:
                    await writable(fd)  # the container does not read: wait, buffer nothing here
        finally:
            os.close(fd)

    async def network_namespace(self, task_id: str) -> str | None:
        container = self._task(task_id)
        if container.record.host_network or container.exit is not None:
            return None
        state = await self.runtime.state(container.record.container_id)
        pid = int((state or {}).get("pid", 0))
        return f"/proc/{pid}/ns/net" if pid > 0 else None

    async def exec(self, task_id: str, argv: Sequence[str], timeout: float) -> ExecResult:
        container = self._task(task_id)
        if container.phase is not TaskPhase.RUNNING:
            raise DriverError(f"task {task_id} is {container.phase.value}, not Running: cannot exec")
        try:
            done = await self.runtime.exec(container.record.container_id, list(argv), timeout)
        except TimeoutError as err:
            raise DriverError(f"exec in {task_id}: {err}") from None
        return ExecResult(done.returncode, done.stdout + done.stderr)

    async def open_exec(self, task_id: str, options: ExecOptions) -> ProcessSession:
        container = self._task(task_id)
        if container.phase is not TaskPhase.RUNNING:
            raise DriverError(f"task {task_id} is {container.phase.value}, not Running: cannot exec")
        return await open_exec_session(self.runtime, container.record.container_id, container.dir.path, options)

    async def open_terminal(self, task_id: str, rows: int, cols: int, *, stdin: bool) -> ProcessSession:
        container = self._task(task_id)
        if container.phase is not TaskPhase.RUNNING:
            raise DriverError(f"task {task_id} is {container.phase.value}, not Running: cannot attach")
        if not container.record.tty:
            raise DriverError(f"task {task_id} was started without a terminal (tty: true in its container)")
        session = await open_terminal(container.dir.attach_socket, rows, cols,
                                      lambda data: self.write_stdin(task_id, data))
        return AttachedSession(session, stdin=stdin)

    # --- machinery ---------------------------------------------------------------------------

    def _task(self, task_id: str) -> _Container:
        container = self._tasks.get(task_id)
        if container is None:
            raise TaskNotFoundError(f"{self.name}: no task {task_id}")
        return container

    def _handle(self, container: _Container) -> TaskHandle:
        record = container.record
        return TaskHandle(record.task_id, self.name, record.started_at,
                          {"container_id": record.container_id, "shim_pid": str(record.shim_pid)})

    def _shim_exited(self, container: _Container, notify: bool = True) -> None:
        if container.exit is not None:
            return
        recorded = container.dir.exit_record()
        container.exit = self._exit_result(container, recorded)
        container.phase = TaskPhase.EXITED
        container.done.set()
        if notify:
            self._listener(container.record.task_id)

    def _exit_result(self, container: _Container, recorded: ExitRecord | None) -> ExitResult:
        if recorded is None:
            return ExitResult(255, "Error", time.time(), message="exit status unknown: the container's shim was gone")
        code, signal_number, at = recorded.exit_code, recorded.signal, recorded.finished_at
        if code != 0 and oom_kills(memory_cgroup(container.record.cgroups_path)) > 0:
            return ExitResult(code, "OOMKilled", at, signal_number, "memory limit exceeded: OOM-killed by the kernel")
        if code == 0:
            return ExitResult(0, "Completed", at)
        if signal_number == 9 and container.stop_requested:
            return ExitResult(code, "Error", at, signal_number, "killed (SIGKILL) after the grace period")
        if signal_number:
            return ExitResult(code, "Error", at, signal_number, f"terminated by signal {signal_number}")
        return ExitResult(code, "Error", at, 0, f"exited with code {code}")


def _runtime_message(line: str) -> str:
    """The message of a runc logrus line (``time=... level=error msg="..."``), else the line."""
    match = re.search(r'msg="((?:[^"\\]|\\.)*)"', line)
    return match.group(1).replace('\\"', '"') if match else line
