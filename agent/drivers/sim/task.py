"""The state of one simulated task, and how it is saved so a restarted agent can adopt it.

A simulated runtime outlives the agent the way containerd or QEMU do: when the driver has a
state file, every change of a task is written there, and a new driver process reading the file
fast-forwards each task from its saved cursor to the present (``SimDriver._advance``).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.drivers.log_lines import LogLine
from agent.drivers.protocol import ExitResult, TaskKind, TaskPhase, TaskStatus
from agent.drivers.sim.script import Step
from atoll.atomic_file import write_atomic

LOG_LINES_KEPT = 200


@dataclass
class SimTask:
    """One task of a simulated runtime. Times are epoch seconds of the driver's clock.

    ``cursor`` is the simulated time the script has reached; ``step`` the next statement.
    ``ready_at`` is when provisioning ends, ``booted_at`` when a VM's guest is up.
    """

    task_id: str
    kind: TaskKind
    image: str
    steps: tuple[Step, ...]
    started_at: float
    ready_at: float
    boot_seconds: float = 0.0
    memory_limit: int = 0
    base_memory: int = 0
    ip: str = ""
    fail_probes: str = ""
    hostname: str = ""
    stdin: bool = False
    tty: bool = False
    phase: TaskPhase = TaskPhase.PROVISIONING
    booted_at: float = 0.0
    cursor: float = 0.0
    step: int = 0
    memory_used: int = 0
    ignore_term: bool = False
    paused_at: float | None = None
    stop_requested_at: float | None = None
    kill_at: float | None = None
    graceful_exit_at: float | None = None
    exit: ExitResult | None = None
    reboots: int = 0
    log_total: int = 0
    logs: deque[LogLine] = field(default_factory=lambda: deque(maxlen=LOG_LINES_KEPT))
    changed: asyncio.Event | None = None

    def status(self) -> TaskStatus:
        return TaskStatus(
            task_id=self.task_id,
            phase=self.phase,
            started_at=self.started_at,
            exit=self.exit,
            guest_booted=self.kind == "vm" and self.phase in (TaskPhase.RUNNING, TaskPhase.PAUSED),
            memory_used=self.memory_used,
            ip=self.ip,
        )

    def log(self, line: str, at: float) -> None:
        """The task wrote ``line`` at ``at`` (the driver's clock)."""
        self.logs.append(LogLine(line, int(at * 1e9)))
        self.log_total += 1

    def signal_change(self) -> None:
        if self.changed is not None:
            self.changed.set()
            self.changed = asyncio.Event()

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _SAVED}
        data["phase"] = self.phase.value
        data["steps"] = [[s.verb, _finite(s.number), s.text] for s in self.steps]
        data["exit"] = None if self.exit is None else vars(self.exit)
        data["logs"] = lines_to_json(self.logs)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimTask:
        fields = {name: data[name] for name in _SAVED if name in data}  # files from before a field was added
        steps = tuple(Step(verb, math.inf if number is None else number, text) for verb, number, text in data["steps"])
        task = cls(**fields, steps=steps)
        task.phase = TaskPhase(data["phase"])
        task.exit = None if data["exit"] is None else ExitResult(**data["exit"])
        task.logs.extend(lines_from_json(data["logs"]))
        return task


_SAVED = (
    "task_id", "kind", "image", "started_at", "ready_at", "boot_seconds", "memory_limit", "base_memory",
    "ip", "booted_at", "cursor", "step", "memory_used", "ignore_term", "paused_at", "stop_requested_at",
    "kill_at", "graceful_exit_at", "reboots", "log_total", "fail_probes", "hostname", "stdin",
    "tty",
)


def lines_to_json(lines: Iterable[LogLine]) -> list[list[Any]]:
    return [[line.at_ns, line.text] for line in lines]


def lines_from_json(data: list[Any]) -> list[LogLine]:
    """Lines saved as [at_ns, text]; plain strings (files from before lines were stamped) unstamped."""
    return [LogLine(item) if isinstance(item, str) else LogLine(item[1], item[0]) for item in data]


def _finite(number: float) -> float | None:
    return None if math.isinf(number) else number


PreviousLogs = dict[str, tuple[LogLine, ...]]


class TaskFile:
    """A JSON file holding every task of one simulated runtime and the previous run's log of each
    task that restarted (``{"tasks": {ID: task}, "previousLogs": {ID: lines}}``; a file of tasks
    alone, from before, still loads); written atomically on change."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[dict[str, SimTask], PreviousLogs]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}, {}
        tasks = raw.get("tasks", raw)  # task ids hold a ':', "tasks" does not
        previous = {task_id: tuple(lines_from_json(lines)) for task_id, lines in raw.get("previousLogs", {}).items()}
        return {task_id: SimTask.from_json(data) for task_id, data in tasks.items()}, previous

    def save(self, tasks: dict[str, SimTask], previous: PreviousLogs) -> None:
        data = {
            "tasks": {task_id: task.to_json() for task_id, task in tasks.items()},
            "previousLogs": {task_id: lines_to_json(lines) for task_id, lines in previous.items()},
        }
        write_atomic(self.path, json.dumps(data).encode())
