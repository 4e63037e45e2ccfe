"""The shim's terminal (agent/drivers/oci/shim.py ``Terminal``) with a fake runtime: a pty pair
made here stands for the container's, its master sent over the console socket as runc sends it
(SCM_RIGHTS). The shim sizes it, attach clients see what the container draws and resize it,
the stdin FIFO's bytes are typed into it, the log gets its lines with LF ends, and a runtime that
sends no terminal is one line."""

from __future__ import annotations

import contextlib
import os
import pty
import socket
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.drivers import log_format
from agent.drivers.oci import shim


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.fixture
def container_pty() -> Iterator[tuple[int, int]]:
    master, slave = pty.openpty()
    yield master, slave
    for fd in (master, slave):
        with contextlib.suppress(OSError):  # the test closed it
            os.close(fd)


def _send_master(path: str, master: int) -> None:
    """What runc does with --console-socket: connect, send the master with its name."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as runtime:
        runtime.connect(path)
        socket.send_fds(runtime, [b"/dev/pts/0"], [master])


def test_the_master_sent_over_the_console_socket_is_held_sized_and_served(
    tmp_path: Path, container_pty: tuple[int, int]
) -> None:
    master, slave = container_pty
    os.mkfifo(tmp_path / shim.STDIN_FIFO)
    stdin_fd = os.open(tmp_path / shim.STDIN_FIFO, os.O_RDWR)
    log_fd = os.open(tmp_path / shim.LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    terminal = shim.Terminal(str(tmp_path))
    _send_master(terminal.console_path, master)
    assert terminal.receive_master() == ""
    assert not (tmp_path / shim.CONSOLE_SOCKET).exists(), "the console socket is gone once used"
    assert termios.tcgetwinsize(slave) == shim.DEFAULT_SIZE
    screen = shim.OutputCapture(log_fd, terminal.master, terminal.show)
    terminal.serve(stdin_fd)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(shim.in_dir(terminal.dir_fd, shim.ATTACH_SOCKET))
    _eventually(lambda: len(terminal._clients) == 1, "the client is accepted")
    os.write(slave, b"hello\n/ # ")  # the container draws (the terminal turns LF into CRLF)
    received = b""
    while b"/ # " not in received:
        received += client.recv(1024)
    assert received == b"hello\r\n/ # "
    client.sendall(b"40 120\nnonsense\n0 5\n99999 1\n")  # only the first is a size
    _eventually(lambda: termios.tcgetwinsize(slave) == (40, 120), "resized")
    with open(tmp_path / shim.STDIN_FIFO, "wb") as fifo:  # what the agent's write_stdin does
        fifo.write(b"typed\n")
    _eventually(lambda: b"typed" in _read_some(slave), "the FIFO's bytes reach the terminal")
    os.close(slave)  # the container ended: the master reads EIO
    screen.drain()
    terminal.hang_up()
    rest = b""
    while chunk := client.recv(1024):  # the terminal echoed what was typed, then the end
        rest += chunk
    assert rest == b"typed\r\n"
    lines = [log_format.decode(raw)[3] for raw in (tmp_path / shim.LOG).read_bytes().splitlines()]
    assert lines == [b"hello", b"/ # typed"]


def _read_some(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1024)
    except BlockingIOError:
        return b""


def test_a_runtime_that_sends_no_terminal_is_one_line(tmp_path: Path) -> None:
    terminal = shim.Terminal(str(tmp_path))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as runtime:
        runtime.connect(terminal.console_path)
        runtime.sendall(b"no descriptor here")
    assert terminal.receive_master() == "the runtime sent no terminal"


def test_a_socket_left_by_a_killed_shim_is_replaced(tmp_path: Path) -> None:
    (tmp_path / shim.CONSOLE_SOCKET).write_text("left over")
    terminal = shim.Terminal(str(tmp_path))
    assert (tmp_path / shim.CONSOLE_SOCKET).is_socket()
    os.close(terminal.dir_fd)


def test_in_dir_keeps_a_socket_path_short_however_deep_the_directory(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100) / ("e" * 100)
    deep.mkdir(parents=True)
    directory = os.open(deep, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(shim.in_dir(directory, "attach.sock"))
        assert (deep / "attach.sock").is_socket()
    finally:
        os.close(directory)


def test_an_attach_that_stops_reading_is_dropped_and_never_holds_the_container_up(
    tmp_path: Path, container_pty: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shim, "CLIENT_TIMEOUT", 0.2)
    master, slave = container_pty
    log_fd = os.open(tmp_path / shim.LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    terminal = shim.Terminal(str(tmp_path))
    _send_master(terminal.console_path, master)
    assert terminal.receive_master() == ""
    screen = shim.OutputCapture(log_fd, terminal.master, terminal.show)
    terminal.serve(-1)
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.connect(shim.in_dir(terminal.dir_fd, shim.ATTACH_SOCKET))  # and never reads
    _eventually(lambda: len(terminal._clients) == 1, "the client is accepted")
    line = b"x" * 1000 + b"\n"
    for _ in range(2000):  # 2 MB: far more than the socket buffers hold
        os.write(slave, line)  # would block for good if the stuck client held the shim up
    os.close(slave)
    screen.drain()
    assert terminal._clients == []
    assert len((tmp_path / shim.LOG).read_bytes().splitlines()) == 2000
    stuck.close()
