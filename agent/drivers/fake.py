"""A scriptable fake driver for tests: every task is RUNNING at once; the test decides the rest.

Tests drive it directly: ``finish(task_id, exit_code)``, ``fail_next_start(error)``, and read
``calls`` (every protocol call as ``(method, task_id)``) and ``started`` (every config started),
so an agent test can assert "started exactly once" or "never stopped".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from agent.drivers.protocol import (
    Capabilities,
    DriverError,
    DriverFingerprint,
    ExitResult,
    Listener,
    TaskConfig,
    TaskExistsError,
    TaskHandle,
    TaskNotFoundError,
    TaskPhase,
    TaskRunningError,
    TaskStatus,
)
from atoll.clock import Clock, SystemClock


@dataclass
class _FakeTask:
    config: TaskConfig
    started_at: float
    phase: TaskPhase = TaskPhase.RUNNING
    exit: ExitResult | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class FakeDriver:
    """Runs containers and VMs of any OS unless ``caps`` says otherwise."""

    def __init__(self, name: str = "fake", caps: Capabilities | None = None, clock: Clock | None = None,
                 ignore_stop: bool = False) -> None:
        self.name = name
        self.caps = caps or Capabilities(kinds=frozenset({"container", "vm"}), os="linux")
        self.clock: Clock = clock or SystemClock()
        self.ignore_stop = ignore_stop
        self.calls: list[tuple[str, str]] = []
        self.started: list[TaskConfig] = []
        self.tasks: dict[str, _FakeTask] = {}
        self.orphans: dict[str, TaskHandle] = {}
        self._listener: Listener = lambda task_id: None
        self._start_errors: list[DriverError] = []

    # --- test controls -----------------------------------------------------------------------

    def fail_next_start(self, error: DriverError) -> None:
        self._start_errors.append(error)

    def finish(self, task_id: str, exit_code: int = 0, reason: str = "") -> None:
        """The task exits by itself with ``exit_code`` (reason Completed/Error unless given)."""
        task = self.tasks[task_id]
        self._end(task, ExitResult(exit_code, reason or ("Completed" if exit_code == 0 else "Error"), self.clock.now()))

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    # --- protocol ----------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return self.caps

    async def fingerprint(self) -> DriverFingerprint:
        return DriverFingerprint(healthy=True)

    def set_listener(self, listener: Listener) -> None:
        self._listener = listener

    async def start(self, config: TaskConfig) -> TaskHandle:
        self.calls.append(("start", config.task_id))
        if config.task_id in self.tasks:
            raise TaskExistsError(f"task {config.task_id} exists")
        if self._start_errors:
            raise self._start_errors.pop(0)
        task = _FakeTask(config, self.clock.now())
        self.tasks[config.task_id] = task
        self.started.append(config)
        return TaskHandle(config.task_id, self.name, task.started_at)

    async def wait(self, task_id: str) -> ExitResult:
        task = self._task(task_id)
        await task.done.wait()
        assert task.exit is not None
        return task.exit

    async def stop(self, task_id: str, timeout: float) -> ExitResult:
        self.calls.append(("stop", task_id))
        task = self._task(task_id)
        if task.exit is None:
            task.phase = TaskPhase.STOPPING
            if self.ignore_stop:
                await self.clock.sleep(timeout)
                self._end(task, ExitResult(137, "Error", self.clock.now(), signal=9))
            else:
                self._end(task, ExitResult(143, "Error", self.clock.now(), signal=15))
        return await self.wait(task_id)

    async def destroy(self, task_id: str, force: bool = False) -> None:
        self.calls.append(("destroy", task_id))
        task = self.tasks.get(task_id)
        if task is None:
            return
        if task.exit is None and not force:
            raise TaskRunningError(f"task {task_id} is running")
        del self.tasks[task_id]

    async def inspect(self, task_id: str) -> TaskStatus:
        task = self._task(task_id)
        return TaskStatus(task_id, task.phase, task.started_at, task.exit, guest_booted=task.config.kind == "vm")

    async def list_tasks(self) -> list[TaskHandle]:
        handles = [TaskHandle(t.config.task_id, self.name, t.started_at) for t in self.tasks.values()]
        return handles + list(self.orphans.values())

    async def recover(self, handle: TaskHandle) -> bool:
        self.calls.append(("recover", handle.task_id))
        return handle.task_id in self.tasks or handle.task_id in self.orphans

    def _task(self, task_id: str) -> _FakeTask:
        task = self.tasks.get(task_id)
        if task is None:
            raise TaskNotFoundError(f"{self.name}: no task {task_id}")
        return task

    def _end(self, task: _FakeTask, result: ExitResult) -> None:
        task.exit = result
        task.phase = TaskPhase.EXITED
        task.done.set()
        self._listener(task.config.task_id)
