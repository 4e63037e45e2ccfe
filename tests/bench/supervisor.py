"""The one supervisor of the processes a benchmark starts: their output is kept (last lines) and
never blocks them, and a benchmark fails at once when one of them dies, with its exit status and
last lines, instead of waiting out its own timeout.

Usage::

    with Supervisor() as children:
        scheduler = children.start("scheduler", [sys.executable, "-m", "scheduler.main", ...])
        up = children.adopt("atoll up", start_up(...).process)
        result = await children.guard(measure())      # ChildDied as soon as one of them exits
    # leaving the block stops every child still running (SIGTERM, then SIGKILL)

``main`` functions wrap their work in ``exit_on_child_death`` so that a dead child ends the
benchmark with one clear report on stderr and exit status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, TypeVar

LAST_LINES = 40
POLL_SECONDS = 0.2
STOP_GRACE_SECONDS = 10.0
EXIT_CHILD_DIED = 1
_T = TypeVar("_T")


class ChildDied(Exception):
    """A supervised process exited while the benchmark still needed it."""

    def __init__(self, child: Child) -> None:
        self.child = child
        super().__init__(f"{child.name} (pid {child.process.pid}) {describe_status(child.process.returncode)}")

    def report(self) -> str:
        """The failure with the child's last lines of output, for people."""
        lines = list(self.child.last_lines)
        shown = "\n".join(f"  | {line}" for line in lines) if lines else "  (no output)"
        return f"benchmark failed: {self}; its last {len(lines)} lines:\n{shown}"


def describe_status(code: int | None) -> str:
    """``exited with status 2`` / ``was killed by SIGKILL`` / ``is running``."""
    if code is None:
        return "is running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name} (exit status {code})"
    return f"exited with status {code}"


@dataclass
class Child:
    """One supervised process and the last lines it wrote (stdout and stderr together)."""

    name: str
    process: subprocess.Popen[str]
    last_lines: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))
    expected_exit: bool = False
    _reader: threading.Thread | None = None

    def follow(self, stream: IO[str] | None, echo: Callable[[str], None] | None) -> None:
        """Read ``stream`` to its end in a thread, keeping the last lines (and echoing them)."""
        if stream is None:
            return

        def read() -> None:
            for line in stream:
                text = line.rstrip("\n")
                self.last_lines.append(text)
                if echo is not None:
                    echo(f"[{self.name}] {text}")

        self._reader = threading.Thread(target=read, name=f"output-of-{self.name}", daemon=True)
        self._reader.start()

    @property
    def died(self) -> bool:
        return not self.expected_exit and self.process.poll() is not None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; waits for the exit."""
        self.expected_exit = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=2.0)


class Supervisor:
    """The processes one benchmark run started; see the module docstring."""

    def __init__(self, *, echo: Callable[[str], None] | None = None) -> None:
        """``echo`` receives each output line, prefixed with the child's name (default: kept only)."""
        self.children: list[Child] = []
        self._echo = echo

    def start(self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None) -> Child:
        """Start ``argv`` with stdout and stderr merged into one followed pipe."""
        process = subprocess.Popen(
            list(argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, bufsize=1,
        )
        return self.adopt(name, process)

    def adopt(self, name: str, process: subprocess.Popen[str], earlier_lines: Sequence[str] = ()) -> Child:
        """Supervise a process started elsewhere (its stdout, if a pipe, is followed from here on)."""
        child = Child(name, process)
        child.last_lines.extend(line.rstrip("\n") for line in earlier_lines)
        child.follow(process.stdout, self._echo)
        self.children.append(child)
        print(f"bench: started {name} (pid {process.pid})", file=sys.stderr, flush=True)
        return child

    def first_death(self) -> Child | None:
        return next((child for child in self.children if child.died), None)

    def check(self) -> None:
        """Raise ChildDied for a child that exited unexpectedly."""
        dead = self.first_death()
        if dead is not None:
            raise ChildDied(dead)

    async def guard(self, work: Awaitable[_T], poll: float = POLL_SECONDS) -> _T:
        """Await ``work``; if a child dies first, cancel it and raise ChildDied."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=poll)
                if done:
                    return task.result()
                dead = self.first_death()
                if dead is not None:
                    raise ChildDied(dead)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def stop(self, child: Child, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop one child on purpose (its exit is then no failure)."""
        child.stop(grace)

    def stop_all(self) -> None:
        """Stop every child, the last started first."""
        for child in reversed(self.children):
            child.stop()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()


@contextlib.contextmanager
def exit_on_child_death() -> Iterator[None]:
    """Turn ChildDied into its report on stderr and exit status 1 (a benchmark's ``main``)."""
    try:
        yield
    except ChildDied as died:
        print(died.report(), file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CHILD_DIED) from None
