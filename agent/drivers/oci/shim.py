"""The per-container shim (containerd's and conmon's role), run as a script with the standard
library only: ``python -I -S shim.py [--tty] TASK_DIR CONTAINER_ID RUNTIME [RUNTIME_ARGS...]``.

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

With ``--tty`` (``tty: true``, the bundle's ``process.terminal``) the container's stdio is a
pseudo-terminal instead (``Terminal``): ``RUNTIME create --console-socket`` sends its master over
``TASK_DIR/console.sock`` (SCM_RIGHTS, runc's docs/terminals.md), the shim holds it for the
container's life (so it outlives agent restarts), logs what the terminal shows as stdout (as
containerd does), types the stdin FIFO's bytes into it, and serves ``TASK_DIR/attach.sock``:
each connection receives what the terminal shows from then on and may send ``ROWS COLS\n``
lines, which resize it (TIOCSWINSZ; the container gets SIGWINCH).

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

TYPE_CHECKING = False  # not typing's (its import costs the shim)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

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
TTY_FLAG = "--tty"
CONSOLE_SOCKET = "console.sock"  # where the runtime sends the terminal's master (only during create)
ATTACH_SOCKET = "attach.sock"  # the terminal's output from now on; "ROWS COLS\n" resizes it
DEFAULT_SIZE = (24, 80)
CONSOLE_TIMEOUT = 10.0
CLIENT_TIMEOUT = 5.0  # an attach client that takes no output this long is dropped, not waited for
RESIZE_LINE_BYTES = 64


def in_dir(dir_fd: int, name: str) -> str:
    """A path to ``name`` in the directory open as ``dir_fd``, short whatever the directory's path
    (a unix socket's path must fit 108 bytes; conmon does the same)."""
    return f"/proc/self/fd/{dir_fd}/{name}"


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
    that stamps every line and appends it to the log. With ``terminal`` (a pseudo-terminal's
    master) that is read instead, its CRLF line ends logged as LF, and every chunk also goes to
    ``tee`` (the attached clients)."""

    def __init__(self, log_fd: int, terminal: int = -1, tee: Callable[[bytes], None] | None = None) -> None:
        self.log_fd = log_fd
        self.lines = log_format.LineWriter("stdout")
        self.tee = tee
        self.terminal = terminal >= 0
        read_end, self.writer = (terminal, -1) if self.terminal else os.pipe()
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
                except OSError:  # a terminal's master: EIO once no process holds the terminal
                    data = b""
                if data and self.tee is not None:
                    self.tee(data)
                logged = data.replace(b"\r\n", b"\n") if self.terminal else data
                encoded = self.lines.feed(logged) if data else self.lines.close()
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


class Terminal:
    """The container's pseudo-terminal (module docstring): receives its master from the runtime,
    then serves attach clients and types the stdin FIFO into it. Threads, no selector: one per
    client, one for accepting, one for stdin (``_thread``, as the rest of the shim)."""

    def __init__(self, task_dir: str) -> None:
        import socket  # only containers with a terminal pay for it (the shim is on the start's path)
        import termios

        self._socket = socket
        self._termios = termios
        self.dir_fd = os.open(task_dir, os.O_RDONLY | os.O_DIRECTORY)
        os.set_inheritable(self.dir_fd, True)  # the runtime reaches the console socket through it too
        self.console_path = in_dir(self.dir_fd, CONSOLE_SOCKET)
        self._console = self._listen(CONSOLE_SOCKET)
        self.master = -1
        self._clients: list[Any] = []
        self._lock = _thread.allocate_lock()

    def _listen(self, name: str) -> Any:
        path = in_dir(self.dir_fd, name)
        if os.path.lexists(path):
            os.unlink(path)  # left by a shim killed before it removed it
        listener = self._socket.socket(self._socket.AF_UNIX, self._socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(16)
        return listener

    def receive_master(self) -> str:
        """Take the master the runtime sent during ``create``; "" or what went wrong."""
        self._console.settimeout(CONSOLE_TIMEOUT)
        try:
            connection, _ = self._console.accept()
            with connection:
                _, fds, _, _ = self._socket.recv_fds(connection, 4096, 1)
        except OSError as err:
            return f"the runtime sent no terminal: {err}"
        finally:
            self._console.close()
            try:  # noqa: SIM105 - as above
                os.unlink(self.console_path)
            except OSError:
                pass
        if not fds:
            return "the runtime sent no terminal"
        self.master = fds[0]
        self._termios.tcsetwinsize(self.master, DEFAULT_SIZE)
        return ""

    def serve(self, stdin_fd: int) -> None:
        """Accept attach clients and, when ``stdin_fd`` >= 0, type what it reads into the terminal."""
        _thread.start_new_thread(self._accept, (self._listen(ATTACH_SOCKET),))
        if stdin_fd >= 0:
            _thread.start_new_thread(self._type, (stdin_fd,))

    def show(self, data: bytes) -> None:
        """Send what the terminal shows to every client; one that cannot take it is dropped."""
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            try:
                client.sendall(data)
            except OSError:
                self._drop(client)

    def hang_up(self) -> None:
        """The container ended: every client sees the end of its output."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            self._close(client)

    def _accept(self, listener: Any) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except InterruptedError:
                continue
            except OSError:
                return
            client.settimeout(CLIENT_TIMEOUT)
            with self._lock:
                self._clients.append(client)
            _thread.start_new_thread(self._read_resizes, (client,))

    def _read_resizes(self, client: Any) -> None:
        pending = b""
        while True:
            try:
                data = client.recv(RESIZE_LINE_BYTES)
            except TimeoutError:
                continue  # an attached client that does not resize
            except OSError:
                data = b""
            if not data:
                self._drop(client)
                return
            pending += data
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                self.resize(line)
            pending = pending[-RESIZE_LINE_BYTES:]

    def resize(self, line: bytes) -> None:
        """``ROWS COLS`` (each 1-65535) becomes the terminal's size; anything else is ignored."""
        words = line.split()
        if len(words) != 2 or not all(word.isdigit() and 0 < int(word) < 65536 for word in words):
            return
        try:  # noqa: SIM105 - contextlib is an import the shim does without
            self._termios.tcsetwinsize(self.master, (int(words[0]), int(words[1])))
        except OSError:
            pass  # the container ended meanwhile

    def _drop(self, client: Any) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        self._close(client)

    def _close(self, client: Any) -> None:
        """Shut down first: a close alone waits for the thread blocked reading it to wake."""
        try:  # noqa: SIM105 - contextlib is an import the shim does without
            client.shutdown(self._socket.SHUT_RDWR)
        except OSError:
            pass  # the client went first
        client.close()

    def _type(self, stdin_fd: int) -> None:
        while True:
            try:
                data = os.read(stdin_fd, 65536)
                while data:
                    data = data[os.write(self.master, data):]
            except InterruptedError:
                continue
            except OSError:
                return  # the terminal is gone with the container


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
    with_terminal = argv[:1] == [TTY_FLAG]
    task_dir, container_id, runtime = argv[with_terminal], argv[with_terminal + 1], argv[with_terminal + 2:]
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
    terminal = Terminal(task_dir) if with_terminal else None
    console = ["--console-socket", terminal.console_path] if terminal else []
    create = ["create", "--bundle", bundle, "--pid-file", pid_path, *console, container_id]
    created = _runtime(runtime, create, output.writer, -1 if terminal else stdin_fd) == 0
    if stdin_fd >= 0 and terminal is None:
        os.close(stdin_fd)  # the container holds it now
    problem = terminal.receive_master() if created and terminal else ""
    if not created or problem:
        if problem:
            _runtime(runtime, ["delete", "--force", container_id], 2)
        output.close_writer()
        output.drain()
        _handshake("failed " + (problem or output.last_line or "create failed"))
        return 1
    screen = None
    if terminal is not None:  # before start: nothing the container draws is missed
        screen = OutputCapture(log_fd, terminal.master, terminal.show)
        terminal.serve(stdin_fd)
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
    if screen is not None and terminal is not None:
        screen.drain()
        terminal.hang_up()
    os.close(log_fd)
    _write_exit(task_dir, exit_code, signal_number)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
