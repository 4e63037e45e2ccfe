"""`atoll up` as a real child process on a free loopback port, for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from atoll.config import ClientConfig

_ADDRESS = re.compile(r"API server:\s+(\S+)")


@dataclass
class UpProcess:
    process: subprocess.Popen[str]
    address: str
    output: list[str]

    def kill(self, signum: int = signal.SIGKILL) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=30)


def start_up(data_dir: Path, *extra: str, timeout: float = 30.0, secure: bool = False,
             listen: str = "127.0.0.1:0", prefix: Sequence[str] = ()) -> UpProcess:
    """Starts `atoll up --listen LISTEN` and returns once it printed its address.

    Plaintext (`--dev`) unless ``secure``: then the admin client config is in
    ``admin_config(data_dir)`` (mutual TLS with the certificates up generated). ``prefix``: a
    command it runs under, e.g. ``ip netns exec NS`` (then ``listen`` is an address in NS)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [
            *prefix,
            sys.executable,
            "-m",
            "allinone",
            "up",
            "--data-dir",
            str(data_dir),
            "--listen",
            listen,
            "--no-client-config",
            *(() if secure else ("--dev",)),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        match = _ADDRESS.search(line)
        if match:
            return UpProcess(process, match.group(1), output)
    process.kill()
    raise RuntimeError("atoll up did not start:\n" + "".join(output))


def admin_config(data_dir: Path, address: str) -> ClientConfig:
    """The admin ClientConfig of a secure `atoll up` with ``data_dir``, for ``address``."""
    pki = data_dir / "pki"
    return ClientConfig(
        server=address, ca=str(pki / "ca.pem"), cert=str(pki / "admin.pem"), key=str(pki / "admin-key.pem")
    )
