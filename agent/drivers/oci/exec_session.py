"""``atoll exec`` into an OCI container: ``runc exec`` / ``crun exec`` in the foreground, as a
``HostProcessSession`` (agent/drivers/process_session.py).

Each session gets a directory under the container's task dir (removed on close) for the runtime's
pid file (the exec'd process's host pid, killed if it outlives a hangup) and its log: when the
runtime itself cannot start the command (exit 255; it says why on its stderr, which the session
carries), the logged error makes the exit code 127 (not found) or 126 (found, not executable),
as a shell answers.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

from agent.drivers.oci.runtime import OciRuntime
from agent.drivers.process_session import HostProcessSession
from agent.drivers.session import ExecOptions
from atoll.user_text import bounded

RUNTIME_FAILED = 255
STARTED_POLLS = 500
STARTED_POLL_SECONDS = 0.01
NOT_EXECUTABLE = 126
NOT_FOUND = 127
_NOT_FOUND_MARKERS = ("executable file not found", "no such file or directory")
_NOT_EXECUTABLE_MARKERS = ("permission denied", "is a directory", "exec format error")


async def open_exec_session(
    runtime: OciRuntime, container_id: str, task_dir: Path, options: ExecOptions
) -> HostProcessSession:
    work = Path(tempfile.mkdtemp(prefix="exec-", dir=task_dir))
    pid_file, log_file = work / "exec.pid", work / "runtime.log"
    argv = runtime.exec_argv(container_id, list(options.argv), tty=options.tty, pid_file=pid_file, log_file=log_file)

    def explain(returncode: int) -> tuple[int, str]:
        if returncode != RUNTIME_FAILED:
            return returncode, ""
        error = runtime_error(log_file).lower()
        if any(marker in error for marker in _NOT_FOUND_MARKERS):
            return NOT_FOUND, ""
        if any(marker in error for marker in _NOT_EXECUTABLE_MARKERS):
            return NOT_EXECUTABLE, ""
        return returncode, ""

    def exec_pid() -> list[int]:
        try:
            return [int(pid_file.read_text().strip())]
        except (OSError, ValueError):
            return []

    sizing: list[asyncio.Task[None]] = []

    def cleanup() -> None:
        for task in sizing:
            task.cancel()
        shutil.rmtree(work, ignore_errors=True)

    try:
        session = await HostProcessSession.start(argv, options, explain=explain, kill_extra=exec_pid, cleanup=cleanup)
    except BaseException:
        cleanup()
        raise
    if options.tty:
        sizing.append(asyncio.create_task(_size_once_started(session, pid_file), name="exec-size"))
    return session


async def _size_once_started(session: HostProcessSession, pid_file: Path) -> None:
    """The runtime copies its terminal's size to the container's when it set that terminal up,
    which can be after the command already asked for it; once the runtime wrote the process's
    pid (it runs), the size is sent again (SIGWINCH), so the command sees the right one."""
    for _ in range(STARTED_POLLS):
        if pid_file.exists():
            session.resize(*session.size)
            return
        await asyncio.sleep(STARTED_POLL_SECONDS)


def runtime_error(log_file: Path) -> str:
    """The last error the runtime logged (its JSON ``msg``; a plain line from a runtime that
    writes text), bounded; '' when it logged none."""
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            if line.strip():
                return bounded(line.strip(), 300)
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
            return bounded(str(entry.get("msg", "")), 300)
    return ""
