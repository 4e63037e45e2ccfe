"""`atoll up` serving only the API (no scheduler, controllers or nodes) on a fixed loopback port,
as a real process that can be killed and started again on the same port: for HA tests and
benchmarks. ``api_servers(cluster, workdir, n)`` runs n of them on one etcd cluster."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.etcd_cluster import EtcdCluster
from tests.support.etcd_server import free_loopback_port

START_TIMEOUT = 60.0
_ADDRESS = re.compile(r"API server:\s+(\S+)")


@dataclass
class ApiServerProcess:
    """`atoll up` serving only the API on a fixed port, restartable; output to a log file."""

    store: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        log = self.workdir / f"apiserver-{self.port}-{self.starts}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "allinone", "up", "--dev", "--no-client-config", "--no-metrics",
                    "--no-http", "--no-scheduler", "--no-controllers", "--sim-nodes", "0",
                    "--data-dir", str(self.workdir / f"data-{self.port}"), "--listen", self.address,
                    "--store", self.store,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if _ADDRESS.search(log.read_text(errors="replace")):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"atoll up on {self.address} did not start:\n{log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@contextlib.contextmanager
def api_servers(cluster: EtcdCluster, workdir: Path, count: int) -> Iterator[list[ApiServerProcess]]:
    store = "etcd://" + ",".join(cluster.endpoints)
    servers = [ApiServerProcess(store, free_loopback_port(), workdir) for _ in range(count)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.kill()
