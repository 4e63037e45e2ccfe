"""Host processes for the real drivers: run a command without blocking the loop, and learn when a
process that is not our child (a container shim, a daemonized QEMU) ends, through a pidfd.

Used by the oci and qemu drivers; nothing here knows about tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Completed:
    """A finished command: exit code and decoded output."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        """The last non-empty line of stderr (else stdout): what the command said went wrong."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1]
        return f"exit code {self.returncode}"


async def run_command(argv: Sequence[str], *, timeout: float = 30.0, env: Mapping[str, str] | None = None,
                      stdin: bytes | None = None) -> Completed:
    """Run ``argv`` to completion; OSError when it cannot be executed, TimeoutError (after killing
    it) when it runs longer than ``timeout`` seconds."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env) if env is not None else None,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate(stdin)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise TimeoutError(f"{argv[0]} did not finish within {timeout:g}s") from None
    assert process.returncode is not None
    return Completed(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def process_matches(pid: int, needle: str) -> bool:
    """True when process ``pid`` exists and its command line contains ``needle`` (guards against a
    recorded pid that was reused by an unrelated process after the original ended)."""
    if pid <= 0:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return needle.encode() in cmdline.replace(b"\0", b" ")


class ExitWatch:
    """Calls ``on_exit`` once, on the event loop, when process ``pid`` ends (at once, soon, if it
    is already gone). Works for any process, not only children: it polls a pidfd."""

    def __init__(self, pid: int, on_exit: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_exit = on_exit
        self._fd: int | None = None
        self._fired = False
        try:
            self._fd = os.pidfd_open(pid)
        except (ProcessLookupError, OSError):
            self._loop.call_soon(self._fire)
            return
        self._loop.add_reader(self._fd, self._fire)

    def _fire(self) -> None:
        if self._fired:
            return
        self._fired = True
        self.cancel()
        self._on_exit()

    def cancel(self) -> None:
        """Stop watching; ``on_exit`` is not called afterwards unless it already was."""
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        self._fired = True
