"""A throwaway real etcd for tests and benchmarks.

``with etcd_server() as endpoint:`` starts ``etcd --logger=zap`` on free loopback ports in a temp
directory, waits until ``/health`` says true, yields ``"127.0.0.1:PORT"`` and kills the process
(and its data) afterwards. Usable outside pytest: it raises ``EtcdStartError`` on failure and
never calls pytest. Tests should first call ``require_binary("etcd", "etcd-server")``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT_SECONDS = 20.0
START_ATTEMPTS = 3


class EtcdStartError(RuntimeError):
    """etcd did not become healthy; the message carries the tail of its log."""


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_healthy(client_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{client_port}/health", timeout=1) as reply:
            return bool(json.loads(reply.read()).get("health") == "true")
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _command(binary: str, data_dir: Path, client_port: int, peer_port: int) -> list[str]:
    client_url = f"http://127.0.0.1:{client_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    return [
        binary,
        "--logger=zap",
        "--log-outputs=stderr",
        "--name=test",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=test={peer_url}",
        "--initial-cluster-state=new",
        # A single member elects itself after one election timeout; keep it short for tests.
        "--heartbeat-interval=10",
        "--election-timeout=100",
    ]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _log_tail(log_path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start_once(binary: str, workdir: Path, attempt: int) -> tuple[subprocess.Popen[bytes], str]:
    client_port, peer_port = free_loopback_port(), free_loopback_port()
    log_path = workdir / f"etcd-{attempt}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            _command(binary, workdir / f"data-{attempt}", client_port, peer_port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _is_healthy(client_port):
            return process, f"127.0.0.1:{client_port}"
        time.sleep(0.05)
    _stop(process)
    raise EtcdStartError(f"etcd on 127.0.0.1:{client_port} did not become healthy:\n{_log_tail(log_path)}")


@contextlib.contextmanager
def etcd_server(binary: str = "etcd") -> Iterator[str]:
    """Runs a fresh single-member etcd; yields its client endpoint ``"127.0.0.1:PORT"``.

    A fresh server has revision 1 and no keys. Ports are retried (another process may grab a
    port between probing and binding); the process is SIGKILLed and its directory removed on exit.
    """
    path = shutil.which(binary) or binary
    workdir = Path(tempfile.mkdtemp(prefix="atoll-etcd-"))
    try:
        last_error: EtcdStartError | None = None
        for attempt in range(START_ATTEMPTS):
            try:
                process, endpoint = _start_once(path, workdir, attempt)
            except EtcdStartError as error:
                last_error = error
                continue
            try:
                yield endpoint
            finally:
                _stop(process)
            return
        assert last_error is not None
        raise last_error
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
