"""The per-container shim (containerd's and conmon's role), run as a script with the standard
library only: ``python -I -S shim.py TASK_DIR CONTAINER_ID RUNTIME [RUNTIME_ARGS...]``.

It detaches from the agent (so containers outlive an agent restart), becomes a child subreaper,
runs ``RUNTIME create`` with the container's stdout and stderr on a pipe it reads (and its stdin
on ``TASK_DIR/stdin`` when the driver made that FIFO: ``stdin: true``), then
``RUNTIME start``, and reports one handshake line on its stdout: ``started CONTAINER_PID SHIM_PID``
or ``failed MESSAGE``. Every line the container writes is stamped as it arrives and appended to
``TASK_DIR/container.log`` in the CRI's format (agent/drivers/log_format.py: time, stream, text),
so logs can be read since a time and shown with their times. It then waits for the container's
init process (reparented to it), reads its output to the end, and writes ``TASK_DIR/exit.json``
({"exit_code", "signal", "finished_at"}) before exiting. The container's cgroup stays until the
agent runs ``RUNTIME delete``, so an OOM kill can be read.

One runs per container start, on the start's critical path: it imports nothing it can do
without (no json, no subprocess: 18 -> 11 ms of CPU per start; _thread, not threading; the log
format has no re or calendar). Why not ``RUNTIME run --detach``
(one Go process fewer): runc's init is then killed now and then when the agent dies right after
the start (tests/e2e/test_oci_adoption.py failed 2 of 8 runs), never after create + start.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import signal
import sys
import time

if __name__ != "__main__":
    from agent.drivers import log_format
else:  # the shim script (python -I -S: no packages): the stdlib-only module, by path
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # appended: shadows nothing
    import log_format  # type: ignore[import-not-found,no-redef]

PR_SET_CHILD_SUBREAPER = 36
LOG = "container.log"
PID_FILE = "container.pid"
EXIT_FILE = "exit.json"
BUNDLE = "bundle"
STDIN_FIFO = "stdin"  # made by the driver for a container with stdin: its stdin, held open here


def _handshake(line: str) -> None:
    try:
        os.write(1, (line.replace("\n", " ") + "\n").encode())
        os.close(1)
    except OSError:
        pass  # the agent went away while we started; the exit file still tells
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)


OUTPUT_DRAIN_SECONDS = 5.0


class OutputCapture:
    """The container's output: one pipe for stdout and stderr both (so lines keep the order they
    were written in, as in the terminal; two pipes cannot tell which came first), read by a thread
    that stamps every line and appends it to the log."""

    def __init__(self, log_fd: int) -> None:
        self.log_fd = log_fd
        self.lines = log_format.LineWriter("stdout")
        read_end, self.writer = os.pipe()
        self._done = _thread.allocate_lock()
        self._done.acquire()
        _thread.start_new_thread(self._copy, (read_end,))

    @property
    def last_line(self) -> str:
        """The last non-blank line seen (a runtime's error message)."""
        return self.lines.last_text.decode(errors="replace").strip()

    def _copy(self, read_end: int) -> None:
        try:
            while True:
                try:
                    data = os.read(read_end, 65536)
                except InterruptedError:
                    continue
                except OSError:
                    data = b""
                encoded = self.lines.feed(data) if data else self.lines.close()
                if encoded:
                    os.write(self.log_fd, encoded)
                if not data:
                    os.close(read_end)
                    return
        finally:
            self._done.release()

    def close_writer(self) -> None:
        """Close the shim's own write end: the pipe ends once the container's processes are gone."""
        if self.writer >= 0:
            os.close(self.writer)
            self.writer = -1

    def drain(self) -> None:
        """Wait until the pipe ended (bounded: a process that escaped the container may hold it)."""
        if self._done.acquire(timeout=OUTPUT_DRAIN_SECONDS):
            self._done.release()


def _runtime(runtime: list[str], args: list[str], log_fd: int, stdin_fd: int = -1) -> int:
    """Run ``runtime args`` with stdin from ``stdin_fd`` (-1: /dev/null) and its output on
    ``log_fd``; its exit code (128 + N when killed by signal N)."""
    no_stdin = (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
    actions = [(os.POSIX_SPAWN_DUP2, stdin_fd, 0) if stdin_fd >= 0 else no_stdin,
               (os.POSIX_SPAWN_DUP2, log_fd, 1), (os.POSIX_SPAWN_DUP2, log_fd, 2)]
    pid = os.posix_spawnp(runtime[0], [*runtime, *args], os.environ, file_actions=actions)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return code if code >= 0 else 128 - code


def _write_exit(task_dir: str, exit_code: int, signal_number: int) -> None:
    record = f'{{"exit_code": {exit_code}, "signal": {signal_number}, "finished_at": {time.time()!r}}}'
    temporary = os.path.join(task_dir, EXIT_FILE + ".tmp")
    with open(temporary, "w") as handle:
        handle.write(record)
    os.replace(temporary, os.path.join(task_dir, EXIT_FILE))


def _wait_for(pid: int) -> tuple[int, int]:
    """Reap children until ``pid`` ends; its (exit code as a shell reports it, signal)."""
    while True:
        try:
            reaped, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255, 0  # not our child after all: nothing left to learn
        if reaped != pid:
            continue
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            return 128 + number, number
        return os.WEXITSTATUS(status), 0


def main(argv: list[str]) -> int:
    task_dir, container_id, runtime = argv[0], argv[1], argv[2:]
    if os.fork() > 0:
        os._exit(0)  # the agent's child returns at once; the shim lives on, reparented
    os.setsid()
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, lambda *_: None)  # a handler, not SIG_IGN: exec resets it for the container
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    log_path = os.path.join(task_dir, LOG)
    pid_path = os.path.join(task_dir, PID_FILE)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    output = OutputCapture(log_fd)
    bundle = os.path.join(task_dir, BUNDLE)
    fifo = os.path.join(task_dir, STDIN_FIFO)
    # read and write: the container never sees the end of its stdin while writers come and go
    stdin_fd = os.open(fifo, os.O_RDWR) if os.path.exists(fifo) else -1
    create = ["create", "--bundle", bundle, "--pid-file", pid_path, container_id]
    created = _runtime(runtime, create, output.writer, stdin_fd) == 0
    if stdin_fd >= 0:
        os.close(stdin_fd)  # the container holds it now
    if not created:
        output.close_writer()
        output.drain()
        _handshake("failed " + (output.last_line or "create failed"))
        return 1
    with open(pid_path) as handle:
        container_pid = int(handle.read().strip())
    started = _runtime(runtime, ["start", container_id], output.writer) == 0
    output.close_writer()
    if not started:
        _runtime(runtime, ["delete", "--force", container_id], 2)
        output.drain()
        _handshake("failed " + (output.last_line or "start failed"))
        return 1
    _handshake(f"started {container_pid} {os.getpid()}")
    exit_code, signal_number = _wait_for(container_pid)
    output.drain()  # every line the container wrote is in the log before its exit is told
    os.close(log_fd)
    _write_exit(task_dir, exit_code, signal_number)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
