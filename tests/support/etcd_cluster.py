"""A throwaway etcd cluster of several members on loopback, for failover tests and benchmarks.

``with etcd_cluster(3) as cluster:`` starts the members (``etcd --logger=zap``) in a temp
directory, waits until every member's ``/health`` says true, and kills them (and their data)
afterwards. ``cluster.kill(i)`` SIGKILLs member ``i``, ``cluster.restart(i)`` starts it again on
its data dir and ports, ``cluster.leader()`` asks the members which one leads. Usable outside
pytest: raises EtcdStartError on failure. Tests should first call
``require_binary("etcd", "etcd-server")``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.etcd_server import EtcdStartError, free_loopback_port

START_TIMEOUT_SECONDS = 30.0


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"


@dataclass
class EtcdCluster:
    """Members of one etcd cluster; ``endpoints[i]`` is member i's "127.0.0.1:PORT"."""

    binary: str
    workdir: Path
    members: list[Member] = field(default_factory=list)

    @property
    def endpoints(self) -> list[str]:
        return [member.endpoint for member in self.members]

    def start(self, index: int, state: str = "new") -> None:
        member = self.members[index]
        initial = ",".join(f"{m.name}=http://127.0.0.1:{m.peer_port}" for m in self.members)
        with (self.workdir / f"{member.name}.log").open("ab") as log:
            member.process = subprocess.Popen(
                [
                    self.binary,
                    "--logger=zap",
                    "--log-outputs=stderr",
                    f"--name={member.name}",
                    f"--data-dir={self.workdir / member.name}",
                    f"--listen-client-urls=http://{member.endpoint}",
                    f"--advertise-client-urls=http://{member.endpoint}",
                    f"--listen-peer-urls=http://127.0.0.1:{member.peer_port}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{member.peer_port}",
                    f"--initial-cluster={initial}",
                    "--initial-cluster-token=atoll-test",
                    f"--initial-cluster-state={state}",
                    "--heartbeat-interval=50",
                    "--election-timeout=500",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self, index: int) -> None:
        """SIGKILL member ``index`` (no-op if it is not running)."""
        process = self.members[index].process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def restart(self, index: int) -> None:
        """Start member ``index`` again on its data and ports; waits until it is healthy."""
        self.kill(index)
        self.start(index, state="existing")
        self.wait_healthy([index])

    def healthy(self, index: int) -> bool:
        try:
            url = f"http://{self.members[index].endpoint}/health"
            with urllib.request.urlopen(url, timeout=1) as reply:
                return bool(json.loads(reply.read()).get("health") == "true")
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def wait_healthy(self, indexes: list[int]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if all(self.healthy(index) for index in indexes):
                return
            for index in indexes:
                process = self.members[index].process
                if process is not None and process.poll() is not None:
                    raise EtcdStartError(f"etcd member {index} exited:\n{self.log_tail(index)}")
            time.sleep(0.1)
        raise EtcdStartError(f"etcd members {indexes} did not become healthy:\n{self.log_tail(indexes[0])}")

    def leader(self) -> int:
        """Index of the member that leads now (asked through each live member's /v3 maintenance
        status); EtcdStartError when none says it leads."""
        for index, member in enumerate(self.members):
            if member.process is None or member.process.poll() is not None:
                continue
            try:
                request = urllib.request.Request(
                    f"http://{member.endpoint}/v3/maintenance/status", data=b"{}", method="POST"
                )
                with urllib.request.urlopen(request, timeout=2) as reply:
                    status = json.loads(reply.read())
            except (OSError, urllib.error.URLError, ValueError):
                continue
            if status.get("leader") and status.get("leader") == status.get("header", {}).get("member_id"):
                return index
        raise EtcdStartError("no etcd member says it leads")

    def log_tail(self, index: int, lines: int = 15) -> str:
        try:
            text = (self.workdir / f"{self.members[index].name}.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def etcd_cluster(size: int = 3, binary: str = "etcd") -> Iterator[EtcdCluster]:
    """Runs a fresh etcd cluster of ``size`` members on free loopback ports."""
    path = shutil.which(binary) or binary
    workdir = Path(tempfile.mkdtemp(prefix="atoll-etcd-cluster-"))
    cluster = EtcdCluster(path, workdir)
    for index in range(size):
        cluster.members.append(Member(f"m{index}", free_loopback_port(), free_loopback_port()))
    try:
        for index in range(size):
            cluster.start(index)
        cluster.wait_healthy(list(range(size)))
        yield cluster
    finally:
        for index in range(size):
            cluster.kill(index)
        shutil.rmtree(workdir, ignore_errors=True)
