"""The restart matrix: every mode of `atoll up` starts again on its own data dir after Ctrl-C
(SIGINT) and after kill -9, with the workloads it had.

Each case starts the real command, applies workloads with the real CLI, waits until they run and
their logs are readable (through the API server's Logs proxy to the node's agent), stops `atoll up`
with the signal, starts it again on the same data dir (and store), and checks that the second start
stays up, lists the same workloads, and that each is Running again and served by the new agent:
its logs are read through the endpoint the agent registered on this start (the first start's
endpoint is gone with its process). Whatever the two starts wrote in the data dir is private.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from atoll.config import write_client_config
from tests.e2e import artifacts
from tests.e2e.conftest import _require_root
from tests.support.etcd_server import etcd_server
from tests.support.eventually import until
from tests.support.netns import NETNS_DIR, run_in, scratch_netns
from tests.support.private_files import readable_by_others
from tests.support.system import require_binary
from tests.support.up_process import UpProcess, admin_config, start_up

WAIT_SECONDS = 90.0
SIM_WORKLOADS = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: keep}
spec:
  containers: [{name: main, image: busybox, command: [sh, -c, "echo started; sleep infinity"]}]
---
apiVersion: atoll.dev/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    pod:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: main, image: busybox, command: [sh, -c, "echo started; sleep infinity"]}]
"""
REAL_POD = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: keep}
spec:
  terminationGracePeriodSeconds: 1  # sleep as pid 1 ignores SIGTERM: the delete waits out the grace
  scheduling: {nodeSelector: {atoll.dev/hostname: %s}}
  containers: [{name: main, image: busybox:restart, command: [sh, -c, "echo started; exec sleep 100000"]}]
"""
FLEET = """
nodes:
- {count: 2, namePrefix: rs-lnx-, os: linux, cpu: "8", memory: 16Gi, labels: {zone: a}}
- {count: 1, namePrefix: rs-w22-, os: windows, osBuild: "10.0.20348", isolation: [process]}
"""


@dataclass
class Mode:
    """One way to run `atoll up`: its flags (a function of the test's directory), whether it is
    secure, and the workloads to apply."""

    name: str
    flags: Callable[[Path], list[str]]
    secure: bool = False
    workloads: str = SIM_WORKLOADS


def _fleet_flags(tmp: Path) -> list[str]:
    fleet = tmp / "fleet.yaml"
    fleet.write_text(FLEET)
    return ["--fleet", str(fleet)]


def _real_flags(tmp: Path) -> list[str]:
    require_binary("runc", "runc")
    busybox = Path(require_binary("busybox", "busybox-static"))
    _require_root()
    rootfs = artifacts.busybox_rootfs(tmp / "rootfs", busybox)
    imported = subprocess.run(
        [sys.executable, "-m", "atoll.cli.main", "image", "import", "--data-dir", str(tmp / "data"), str(rootfs),
         "--name", "busybox:restart"],
        capture_output=True, text=True, timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    return ["--real", "--sim-nodes", "0"]


MODES = [
    Mode("secure", lambda tmp: ["--sim-nodes", "3"], secure=True),
    Mode("dev", lambda tmp: ["--sim-nodes", "3"]),
    Mode("fleet", _fleet_flags),
    Mode("etcd", lambda tmp: ["--sim-nodes", "3"]),  # --store is added by the test around its etcd
    Mode("real", _real_flags, secure=True, workloads=REAL_POD % socket.gethostname()),
]
STOPS = [(signal.SIGINT, "ctrl-c"), (signal.SIGKILL, "kill-9")]


class Cli:
    """The real `atoll` CLI against one `atoll up`, through a client config file of the test's own."""

    def __init__(self, config: Path) -> None:
        self._env = {k: v for k, v in os.environ.items() if k != "ATOLL_SERVER"}
        self._env["ATOLL_CONFIG"] = str(config)

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "atoll.cli.main", *args], input=stdin, capture_output=True,
                              text=True, env=self._env, timeout=60)

    def pods(self) -> dict[str, str]:
        """Every pod's name and phase."""
        listed = self("get", "pods", "-o", "json")
        assert listed.returncode == 0, listed.stderr
        return {item["metadata"]["name"]: item.get("status", {}).get("phase", "")
                for item in json.loads(listed.stdout)["items"]}


def _cli(tmp: Path, up: UpProcess, data_dir: Path, secure: bool) -> Cli:
    config = tmp / f"client-{up.process.pid}.yaml"
    if secure:
        admin = admin_config(data_dir, up.address)
        write_client_config(up.address, config, ca=admin.ca, cert=admin.cert, key=admin.key)
    else:
        write_client_config(up.address, config)
    return Cli(config)


def _until_running_with_logs(cli: Cli, up: UpProcess, expected: int) -> dict[str, str]:
    """Waits until ``expected`` pods are listed, all Running, and the logs of each say "started";
    fails at once when `atoll up` exits. Returns the pods."""
    deadline = time.monotonic() + WAIT_SECONDS
    pods: dict[str, str] = {}
    unread = ""
    while time.monotonic() < deadline:
        assert up.process.poll() is None, "atoll up exited:\n" + _tail(up)
        pods = cli.pods()
        if len(pods) == expected and all(phase == "Running" for phase in pods.values()):
            logs = {name: cli("logs", f"pod/{name}") for name in pods}
            unread = "; ".join(f"{name}: {result.stderr.strip()}" for name, result in logs.items()
                               if result.returncode != 0 or "started" not in result.stdout)
            if not unread:
                return pods
        time.sleep(0.5)
    raise AssertionError(f"pods {pods}, logs unreadable: {unread or '-'}\n{_tail(up)}")


def _tail(up: UpProcess) -> str:
    return "".join(up.output[-20:])


@contextlib.contextmanager
def _store(mode: Mode) -> Iterator[list[str]]:
    """The --store flags of ``mode``: a real etcd (the same one across the restart) for "etcd"."""
    if mode.name != "etcd":
        yield []
        return
    require_binary("etcd", "etcd-server")
    with etcd_server() as endpoint:
        yield ["--store", f"etcd://{endpoint}"]


@contextlib.contextmanager
def _node_netns(mode: Mode) -> Iterator[list[str]]:
    """For "real": a network namespace of the test's own for the node's pod network."""
    if mode.name != "real":
        yield []
        return
    with scratch_netns() as name:
        yield ["--node-netns", str(NETNS_DIR / name)]


@pytest.mark.parametrize(("signum", "_stop"), STOPS, ids=[stop for _, stop in STOPS])
@pytest.mark.parametrize("mode", MODES, ids=[mode.name for mode in MODES])
def test_up_starts_again_with_its_workloads(mode: Mode, signum: signal.Signals, _stop: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    flags = ["--no-metrics", *mode.flags(tmp_path)]
    with _store(mode) as store, _node_netns(mode) as netns:
        flags += netns
        first = start_up(data_dir, *flags, *store, secure=mode.secure)
        second: UpProcess | None = None
        cli = _cli(tmp_path, first, data_dir, mode.secure)
        try:
            applied = cli("apply", "-f", "-", stdin=mode.workloads)
            assert applied.returncode == 0, applied.stderr
            expected = 1 if mode.name == "real" else 3
            before = _until_running_with_logs(cli, first, expected)
            status = first.kill(signum)
            assert status == (0 if signum == signal.SIGINT else -signal.SIGKILL), _tail(first)
            second = start_up(data_dir, *flags, *store, secure=mode.secure)
            cli = _cli(tmp_path, second, data_dir, mode.secure)
            after = _until_running_with_logs(cli, second, expected)
            assert sorted(after) == sorted(before), "the same workloads after the restart"
            assert not readable_by_others(data_dir)
            if mode.name == "real":
                deleted = cli("delete", "pod", "keep", "--wait")  # the agent destroys the real container
                assert deleted.returncode == 0, deleted.stderr
                # Stopping the second run (on what the first left, killed or not) removes the node's
                # Service table and its bridge, unused now.
                node_netns = netns[-1]
                until(lambda: run_in(Path(node_netns), "nft", "list", "table", "ip", "atoll").returncode == 0, 30,
                      what="the node's Service table")
                assert second.kill(signal.SIGINT) == 0, _tail(second)
                assert run_in(Path(node_netns), "nft", "list", "table", "ip", "atoll").returncode != 0
                assert run_in(Path(node_netns), "ip", "link", "show", "atoll0").returncode != 0
        finally:
            for up in (first, second):
                if up is not None and up.process.poll() is None:
                    up.kill(signal.SIGTERM)
