"""What every simulated driver shares: a task table driven by scripts on an injected clock.

Subclasses (linux, windows, hypervisor in this package) decide what may run (``_admit``), how long
it takes to come up, what memory it costs, and what happens over the memory limit.
Timing: a task is PROVISIONING for ``start_latency`` (+ ``_extra_latency``), VMs then BOOTING for
``_boot_seconds``, then RUNNING while its script executes; there is one timer per task at most,
for the next thing that will happen to it.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.drivers.abilities import ALL_LINES, ExecResult, PreviousLogNotFoundError
from agent.drivers.log_lines import LogLine, LogQuery, select
from agent.drivers.protocol import (
    Capabilities,
    DriverError,
    DriverFingerprint,
    ExitResult,
    Listener,
    NetworkNotReadyError,
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
from agent.drivers.sim import shell
from agent.drivers.sim.probes import FAIL_PROBES_ANNOTATION, FailProbesError, parse_fail_probes
from agent.drivers.sim.script import SCRIPT_ANNOTATION, ScriptError, parse_script, script_of
from agent.drivers.sim.task import PreviousLogs, SimTask, TaskFile
from agent.drivers.task_names import host_name_for
from agent.images.pull_types import ImageReady, PullRequest
from agent.images.sim_images import SimImages
from agent.network.address_pool import AddressesExhaustedError, NoPodCidrError, PodAddressPool
from atoll.clock import Clock, SystemClock, Timer

Action = Callable[[float], None]


@dataclass(frozen=True)
class SimSettings:
    """Knobs of a simulated runtime. ``failure_rate``: chance that a start fails (StartError).
    ``term_seconds``: how long a task takes to end after the graceful stop signal.
    ``state_file``: where tasks are saved so a restarted agent can adopt them (None: memory only).
    ``addresses``: the node's address pool, shared by its simulated drivers; a task that is not on
    the host network takes its workload's address from it (NetworkNotReadyError before the node
    has a pod CIDR). None: no pod network, such tasks get no address.
    ``fail_probes``: the probes every task fails unless its workload's annotation says otherwise
    (agent/drivers/sim/probes.py). ``image_pull_seconds``/``missing_images``: a simulated
    registry and pull time (agent/images/sim_images.py); neither set: images are not modelled."""

    start_latency: float = 0.0
    failure_rate: float = 0.0
    term_seconds: float = 0.0
    seed: int = 0
    state_file: Path | None = None
    host_ip: str = "10.0.0.1"
    addresses: PodAddressPool | None = field(default=None, compare=False)
    fail_probes: str = ""
    image_pull_seconds: float = 0.0
    missing_images: tuple[str, ...] = ()


class SimDriver:
    """The task machinery; subclasses set ``name`` and override the hooks below."""

    name = "sim"

    def __init__(self, settings: SimSettings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or SimSettings()
        self.clock: Clock = clock or SystemClock()
        self._tasks: dict[str, SimTask] = {}
        self._timers: dict[str, Timer] = {}
        self._listener: Listener = lambda task_id: None
        self._random = random.Random(self.settings.seed)
        self._file = TaskFile(self.settings.state_file) if self.settings.state_file else None
        self._detached: dict[str, SimTask] = {}
        self._previous: PreviousLogs = {}  # task id -> its previous run's log (KeepsPreviousLogs)
        if self._file is not None:
            self._detached, self._previous = self._file.load()
        self._owners: dict[str, str] = {}  # task id -> workload uid, for tasks holding a pool address
        modelled = self.settings.image_pull_seconds > 0 or self.settings.missing_images
        self.images = (
            SimImages(self.clock, self.settings.image_pull_seconds, self.settings.missing_images) if modelled else None
        )

    # --- images (abilities.ImagePuller) ------------------------------------------------------

    def pull_needed(self, request: PullRequest) -> bool:
        return self.images is not None and self.images.pull_needed(request)

    async def ensure_image(self, request: PullRequest) -> ImageReady:
        if self.images is None:
            return ImageReady(request.image, "")
        return await self.images.ensure(request)

    # --- hooks -------------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        raise NotImplementedError

    async def fingerprint(self) -> DriverFingerprint:
        return DriverFingerprint(healthy=True)

    def _admit(self, config: TaskConfig) -> None:
        """Raise CannotRunError when ``config`` can never run on this runtime."""

    def _extra_latency(self, config: TaskConfig) -> float:
        return 0.0

    def _boot_seconds(self, config: TaskConfig) -> float:
        return 0.0

    def _base_memory(self, config: TaskConfig) -> int:
        return 0

    def _ip(self, config: TaskConfig) -> str:
        pool = self.settings.addresses
        if config.host_network:
            return self.settings.host_ip
        if pool is None:
            return ""
        try:
            return pool.allocate(config.workload_uid, config.task_id)
        except NoPodCidrError as err:
            raise NetworkNotReadyError(str(err)) from None
        except AddressesExhaustedError as err:
            raise StartError(str(err)) from None

    def _over_limit(self, task: SimTask, at: float) -> None:
        """Memory use went over the limit: Linux semantics, the OOM killer ends the task."""
        task.log(f"oom-kill: memory use {task.memory_used} over limit {task.memory_limit}", at)
        self._exit(task, ExitResult(137, "OOMKilled", at, signal=9, message="memory limit exceeded"))

    def _term_exit(self, task: SimTask, at: float) -> ExitResult:
        return ExitResult(143, "Error", at, signal=15, message="terminated by SIGTERM")

    def _kill_exit(self, task: SimTask, at: float) -> ExitResult:
        return ExitResult(137, "Error", at, signal=9, message="killed after the grace period")

    def _crash_exit(self, task: SimTask, at: float) -> ExitResult:
        return ExitResult(139, "Error", at, signal=11, message="segmentation fault")

    def _poweroff_exit(self, task: SimTask, at: float) -> ExitResult:
        return ExitResult(0, "Completed", at)

    # --- protocol ----------------------------------------------------------------------------

    def set_listener(self, listener: Listener) -> None:
        self._listener = listener

    async def start(self, config: TaskConfig) -> TaskHandle:
        if config.task_id in self._tasks:
            raise TaskExistsError(f"task {config.task_id} exists; destroy it before starting it again")
        self._admit(config)
        fail_probes = config.annotation(FAIL_PROBES_ANNOTATION) or self.settings.fail_probes
        try:
            steps = parse_script(script_of(config.command, config.args, config.annotation(SCRIPT_ANNOTATION)))
            parse_fail_probes(fail_probes)
        except (ScriptError, FailProbesError) as err:
            raise StartError(str(err)) from None
        if self.settings.failure_rate and self._random.random() < self.settings.failure_rate:
            raise StartError(f"{self.name}: injected start failure")
        now = self.clock.now()
        task = SimTask(
            task_id=config.task_id,
            kind=config.kind,
            image=config.image or (config.vm.kernel if config.vm else ""),
            steps=steps,
            started_at=now,
            ready_at=now + self.settings.start_latency + self._extra_latency(config),
            boot_seconds=self._boot_seconds(config),
            memory_limit=config.resources.memory_limit,
            base_memory=self._base_memory(config),
            ip=self._ip(config),
            fail_probes=fail_probes,
            stdin=config.stdin,
            tty=config.tty,
            hostname=config.hostname or config.workload,
            changed=asyncio.Event(),
        )
        task.memory_used = task.base_memory
        self._tasks[config.task_id] = task
        self._advance(task.task_id)
        return self._handle(task)

    async def wait(self, task_id: str) -> ExitResult:
        task = self._task(task_id)
        while task.exit is None:
            assert task.changed is not None
            await task.changed.wait()
        return task.exit

    async def stop(self, task_id: str, timeout: float) -> ExitResult:
        task = self._task(task_id)
        if task.exit is None and task.stop_requested_at is None:
            now = self.clock.now()
            task.stop_requested_at = now
            task.kill_at = now + max(0.0, timeout)
            if not task.ignore_term:
                task.graceful_exit_at = now + self.settings.term_seconds
            task.phase = TaskPhase.STOPPING
            task.log("stop requested", now)
            self._advance(task_id)
        return await self.wait(task_id)

    async def destroy(self, task_id: str, force: bool = False) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return
        if task.exit is None:
            if not force:
                raise TaskRunningError(f"task {task_id} is {task.phase.value}; stop it or destroy with force")
            self._exit(task, self._kill_exit(task, self.clock.now()))
        timer = self._timers.pop(task_id, None)
        if timer is not None:
            timer.cancel()
        del self._tasks[task_id]
        if self.settings.addresses is not None:
            self.settings.addresses.release(task_id)
        self._save()

    async def inspect(self, task_id: str) -> TaskStatus:
        return self._task(task_id).status()

    async def list_tasks(self) -> list[TaskHandle]:
        tasks = {**self._detached, **self._tasks}
        return [self._handle(task) for task in tasks.values()]

    async def recover(self, handle: TaskHandle) -> bool:
        if handle.task_id in self._tasks:
            return True
        task = self._detached.pop(handle.task_id, None)
        if task is None:
            return False
        task.changed = asyncio.Event()
        pool = self.settings.addresses
        if pool is not None and task.ip and task.ip != self.settings.host_ip:
            pool.reserve(workload_uid_of(task.task_id), task.task_id, task.ip)
        self._tasks[task.task_id] = task
        self._advance(task.task_id)
        return True

    # --- abilities shared by the simulated runtimes ------------------------------------------

    async def logs(self, task_id: str, query: LogQuery = ALL_LINES) -> AsyncIterator[LogLine]:
        if query.previous:
            kept = self._previous.get(task_id)
            if kept is None:
                raise PreviousLogNotFoundError(f"{self.name}: no previous log of task {task_id}")
            batches = _one_batch(kept)
        else:
            batches = self._log_batches(self._task(task_id), query.follow)
        async for line in select(batches, query):
            yield line

    async def _log_batches(self, task: SimTask, follow: bool) -> AsyncIterator[list[LogLine]]:
        yield list(task.logs)
        seen = task.log_total
        while follow and task.exit is None:
            assert task.changed is not None
            await task.changed.wait()
            fresh = min(task.log_total - seen, len(task.logs))
            yield list(task.logs)[len(task.logs) - fresh :]
            seen = task.log_total

    async def keep_previous_log(self, task_id: str) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return
        if task.exit is None:
            raise TaskRunningError(f"task {task_id} is {task.phase.value}: its log is still being written")
        self._previous[task_id] = tuple(task.logs)
        self._save()

    async def forget_logs(self, task_id: str) -> None:
        if self._previous.pop(task_id, None) is not None:
            self._save()

    async def remove_orphan_logs(self, is_live: Callable[[str], bool]) -> list[str]:
        gone = [task_id for task_id in self._previous if not is_live(workload_uid_of(task_id))]
        for task_id in gone:
            del self._previous[task_id]
        if gone:
            self._save()
        return sorted({workload_uid_of(task_id) for task_id in gone})

    async def write_stdin(self, task_id: str, data: bytes) -> None:
        """A simulated container with stdin echoes each line it reads into its log (as ``cat``)."""
        task = self._running_task(task_id, "write to its stdin")
        if not task.stdin:
            raise DriverError(f"task {task_id} was started without stdin (stdin: true in its container)")
        now = self.clock.now()
        for line in data.decode(errors="replace").splitlines():
            task.log(line, now)
        task.signal_change()
        self._save()

    async def exec(self, task_id: str, argv: Sequence[str], timeout: float) -> ExecResult:
        task = self._running_task(task_id, "exec")
        code, out, err = shell.answer(argv, self._machine(task))
        return ExecResult(code, out + err)

    async def open_exec(self, task_id: str, options: ExecOptions) -> ProcessSession:
        task = self._running_task(task_id, "exec")
        program = shell.program_for(options.argv, self._machine(task), options.stdin)
        return shell.ScriptedSession(program, options.tty, options.rows, options.cols)

    async def open_terminal(self, task_id: str, rows: int, cols: int, *, stdin: bool) -> ProcessSession:
        """A container with a terminal runs the simulated interactive ``sh`` on it: each attach
        meets a fresh prompt (the simulated container keeps no terminal state between them), and
        when that shell exits (``exit N``, Ctrl-D) the container ends with its code, as a real
        one whose init is the shell."""
        task = self._running_task(task_id, "attach to its terminal")
        if not task.tty:
            raise DriverError(f"task {task_id} was started without a terminal (tty: true in its container)")
        machine = self._machine(task)

        async def init_shell(io: shell.ScriptedIO) -> int:
            code = await shell.shell(io, machine, "# ")
            self._shell_exited(task, code)
            return code

        return AttachedSession(shell.ScriptedSession(init_shell, tty=True, rows=rows, cols=cols), stdin=stdin)

    async def open_port(self, task_id: str, port: int) -> ProcessSession:
        task = self._running_task(task_id, "forward a port")
        machine = self._machine(task)
        return shell.ScriptedSession(lambda io: shell.http_port(io, machine, port), tty=False)

    def _running_task(self, task_id: str, what: str) -> SimTask:
        """The task, which must be RUNNING (DriverError names ``what`` could not be done)."""
        task = self._task(task_id)
        if task.phase is not TaskPhase.RUNNING:
            raise DriverError(f"task {task_id} is {task.phase.value}, not Running: cannot {what}")
        return task

    def _machine(self, task: SimTask) -> shell.Machine:
        return shell.Machine(task.hostname or host_name_for(task.task_id))

    async def answer_probe(self, task_id: str, kind: str, handler: str, command: Sequence[str]) -> ExecResult:
        """Fail the kinds the task's fail-probes value names (from their start offset on); else an
        exec probe gets the simulated exec's answer (a command it does not know passes: the
        simulated process is healthy), a TCP or HTTP probe passes while the task is Running."""
        task = self._task(task_id)
        if task.phase is not TaskPhase.RUNNING:
            return ExecResult(1, f"task is {task.phase.value}, not Running")
        after = parse_fail_probes(task.fail_probes).get(kind)
        if after is not None and self.clock.now() - task.started_at >= after:
            return ExecResult(1, f"simulated {kind} probe failure ({FAIL_PROBES_ANNOTATION})")
        if handler == "exec":
            answer = await self.exec(task_id, command, 1.0)
            return ExecResult(0, answer.output) if answer.exit_code == 127 else answer
        return ExecResult(0, "")

    # --- machinery ---------------------------------------------------------------------------

    def _task(self, task_id: str) -> SimTask:
        task = self._tasks.get(task_id)
        if task is None:
            raise TaskNotFoundError(f"{self.name}: no task {task_id}")
        return task

    def _handle(self, task: SimTask) -> TaskHandle:
        return TaskHandle(task.task_id, self.name, task.started_at, {"phase": task.phase.value})

    def _exit(self, task: SimTask, result: ExitResult) -> None:
        task.exit = result
        task.phase = TaskPhase.EXITED
        task.log(f"exited: code {result.exit_code} ({result.reason})", result.finished_at)

    def _shell_exited(self, task: SimTask, code: int) -> None:
        """The shell on a container's terminal exited: the container ends with its code."""
        if task.exit is not None or self._tasks.get(task.task_id) is not task:
            return
        self._exit(task, ExitResult(code, "Completed" if code == 0 else "Error", self.clock.now()))
        timer = self._timers.pop(task.task_id, None)
        if timer is not None:
            timer.cancel()
        self._save()
        task.signal_change()
        self._listener(task.task_id)

    def _advance(self, task_id: str) -> None:
        """Run everything that is due for the task, then arm one timer for what comes next."""
        task = self._tasks.get(task_id)
        if task is None:
            return
        before = (task.phase, task.exit, task.log_total, task.memory_used)
        timer = self._timers.pop(task_id, None)
        if timer is not None:
            timer.cancel()
        while task.exit is None:
            due = self._next_due(task)
            if due is None:
                break
            at, action = due
            if at > self.clock.now():
                self._timers[task_id] = self.clock.call_later(at - self.clock.now(), lambda: self._advance(task_id))
                break
            action(at)
        if before != (task.phase, task.exit, task.log_total, task.memory_used):
            self._save()
            task.signal_change()
            if before[:2] != (task.phase, task.exit):
                self._listener(task_id)

    def _next_due(self, task: SimTask) -> tuple[float, Action] | None:
        candidates: list[tuple[float, Action]] = []
        if task.kill_at is not None:
            candidates.append((task.kill_at, lambda at: self._exit(task, self._kill_exit(task, at))))
        if task.graceful_exit_at is not None and task.paused_at is None:
            candidates.append((task.graceful_exit_at, lambda at: self._exit(task, self._term_exit(task, at))))
        if task.paused_at is None:
            step = self._step_due(task)
            if step is not None:
                candidates.append(step)
        return min(candidates, key=lambda c: c[0]) if candidates else None

    def _step_due(self, task: SimTask) -> tuple[float, Action] | None:
        if task.phase is TaskPhase.PROVISIONING:
            return task.ready_at, lambda at: self._provisioned(task, at)
        if task.phase is TaskPhase.BOOTING:
            return task.booted_at, lambda at: self._booted(task, at)
        if task.phase not in (TaskPhase.RUNNING, TaskPhase.STOPPING) or task.cursor == 0.0:
            return None
        if task.step >= len(task.steps):
            return task.cursor, lambda at: self._exit(task, ExitResult(0, "Completed", at))
        step = task.steps[task.step]
        if step.verb == "sleep":
            if math.isinf(step.number):
                return None
            return task.cursor + step.number, lambda at: self._slept(task, at)
        return task.cursor, lambda at: self._run_statement(task, at)

    def _provisioned(self, task: SimTask, at: float) -> None:
        if task.kind == "vm":
            task.phase = TaskPhase.BOOTING
            task.booted_at = at + task.boot_seconds
            task.log("booting", at)
        else:
            self._running(task, at)

    def _booted(self, task: SimTask, at: float) -> None:
        task.log("guest booted", at)
        self._running(task, at)

    def _running(self, task: SimTask, at: float) -> None:
        if task.phase is not TaskPhase.STOPPING:
            task.phase = TaskPhase.RUNNING
        task.cursor = at
        task.log(f"{self.name}: running {task.image}", at)

    def _slept(self, task: SimTask, at: float) -> None:
        task.cursor = at
        task.step += 1

    def _run_statement(self, task: SimTask, at: float) -> None:
        step = task.steps[task.step]
        task.step += 1
        if step.verb == "echo":
            task.log(step.text, at)
        elif step.verb == "alloc":
            task.memory_used = task.base_memory + int(step.number)
            if task.memory_limit and int(step.number) > task.memory_limit:
                self._over_limit(task, at)
        elif step.verb == "ignore-term":
            task.ignore_term = True
            task.graceful_exit_at = None
        elif step.verb == "exit":
            code = int(step.number)
            self._exit(task, ExitResult(code, "Completed" if code == 0 else "Error", at))
        elif step.verb == "crash":
            self._exit(task, self._crash_exit(task, at))
        elif step.verb == "poweroff":
            self._exit(task, self._poweroff_exit(task, at))
        elif step.verb == "reboot" and task.kind == "vm":
            task.reboots += 1
            task.phase = TaskPhase.BOOTING
            task.booted_at = at + task.boot_seconds
            task.log("rebooting", at)

    def _pause(self, task_id: str) -> None:
        task = self._task(task_id)
        if task.phase is TaskPhase.PAUSED:
            return
        if task.phase is not TaskPhase.RUNNING:
            raise DriverError(f"task {task_id} is {task.phase.value}: only a Running task can be paused")
        task.phase = TaskPhase.PAUSED
        task.paused_at = self.clock.now()
        self._advance(task_id)

    def _resume(self, task_id: str) -> None:
        task = self._task(task_id)
        if task.phase is not TaskPhase.PAUSED or task.paused_at is None:
            return
        task.cursor += self.clock.now() - task.paused_at
        task.paused_at = None
        task.phase = TaskPhase.RUNNING
        self._advance(task_id)

    def _reboot(self, task_id: str) -> None:
        task = self._task(task_id)
        if task.phase not in (TaskPhase.RUNNING, TaskPhase.BOOTING):
            raise DriverError(f"task {task_id} is {task.phase.value}: only a Running VM can reboot")
        task.reboots += 1
        task.phase = TaskPhase.BOOTING
        task.booted_at = self.clock.now() + task.boot_seconds
        task.log("rebooting", self.clock.now())
        self._advance(task_id)

    def _save(self) -> None:
        if self._file is not None:
            self._file.save({**self._detached, **self._tasks}, self._previous)


async def _one_batch(lines: tuple[LogLine, ...]) -> AsyncIterator[list[LogLine]]:
    yield list(lines)
