"""`atoll-controller` and `atoll-scheduler` elect a leader by default, through the real commands:
beside `atoll up` a standalone one stands by (says so, leader gauge 0, reconciles nothing) while
`atoll up`'s own controllers converge a Deployment; a lone one restarted after kill -9 takes its
Lease back at once (its old identity provably names a dead process: atoll/process_identity.py),
not after the lease duration; `--no-leader-elect` acts at once and writes no Lease."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_cli_e2e import atoll
from tests.support.eventually import until
from tests.support.metrics_scrape import free_port, scrape, value
from tests.support.up_process import UpProcess, start_up

# command -> (leader gauge, its labels)
LEADER_GAUGE = {
    "atoll-controller": ("atoll_controller_leader", {"lease": "atoll-controller"}),
    "atoll-scheduler": ("atoll_scheduler_leader", {}),
}
DEPLOYMENT = """
apiVersion: atoll.dev/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    pod:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: web, image: nginx}]}
"""


class Command:
    """One run of ``name`` (the installed console script) with its stderr in ``log``, its
    /metrics on a port of its own."""

    def __init__(self, name: str, server: str, log: Path, *flags: str, port: int | None = None) -> None:
        self.name, self.log, self.port = name, log, port or free_port()
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / name), "--server", server,
             "--metrics-listen", f"127.0.0.1:{self.port}", *flags],
            stdout=subprocess.DEVNULL, stderr=log.open("w"), env=dict(os.environ),
        )  # fmt: skip

    def leader_gauge(self) -> float | None:
        name, labels = LEADER_GAUGE[self.name]
        try:
            return value(scrape(f"http://127.0.0.1:{self.port}/metrics"), name, **labels)
        except AssertionError:  # not serving yet
            return None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def api_only(tmp_path: Path) -> Iterator[UpProcess]:
    """`atoll up` as the API server alone: the standalone commands are the only candidates."""
    up = start_up(tmp_path / "data", "--no-scheduler", "--no-controllers", "--sim-nodes", "0", "--no-metrics")
    yield up
    up.kill(signal.SIGTERM)


def get(up: UpProcess, *args: str) -> Any:
    """The object as JSON, or None when it does not exist."""
    result = atoll(up, "get", *args, "-o", "json")
    if result.returncode != 0:
        assert "not found" in result.stderr.lower(), result.stderr
        return None
    return json.loads(result.stdout)


def holder(up: UpProcess, lease: str) -> str:
    found = get(up, "lease", lease, "-n", "atoll-system")
    return str(found["spec"].get("holderIdentity", "")) if found else ""


def test_a_default_controller_beside_atoll_up_stands_by_while_atoll_ups_controllers_converge(
    tmp_path: Path,
) -> None:
    up = start_up(tmp_path / "data", "--sim-nodes", "1", "--no-metrics")
    standalone = None
    try:
        up_identity = until(lambda: holder(up, "atoll-controller"), 60, what="atoll up's controller Lease")
        assert up_identity.startswith("atoll-up-")
        standalone = Command("atoll-controller", up.address, tmp_path / "controller.log")
        line = f"standing by: lease atoll-system/atoll-controller is held by {up_identity}"
        until(lambda: line in standalone.output(), 60, what="the standby line")
        assert until(lambda: standalone.leader_gauge() == 0, 30, what="leader gauge 0") is True
        assert atoll(up, "apply", "-f", "-", stdin=DEPLOYMENT).returncode == 0
        until(lambda: (get(up, "deploy", "web") or {}).get("status", {}).get("availableReplicas") == 2, 60,
              what="the Deployment available")  # fmt: skip
        families = scrape(f"http://127.0.0.1:{standalone.port}/metrics")
        reconciles = sum(families.get("atoll_controller_reconciles", {}).values())
        assert reconciles == 0, "the standby reconciled nothing"
        assert value(families, "atoll_controller_leader", lease="atoll-controller") == 0
        assert standalone.process.poll() is None
        assert holder(up, "atoll-controller") == up_identity
        assert standalone.output().count("standing by") == 1, standalone.output()
    finally:
        if standalone is not None:
            standalone.stop(signal.SIGKILL)
        up.kill()


@pytest.mark.parametrize("name", ["atoll-controller", "atoll-scheduler"])
def test_a_lone_command_restarted_after_kill_9_takes_its_lease_back_at_once(
    name: str, api_only: UpProcess, tmp_path: Path
) -> None:
    """The lease duration is 300 s: a restart that had to wait it out would fail the 60 s wait."""
    lease = name
    flags = ("--lease-duration", "300", "--renew-deadline", "200", "--retry-period", "0.5")
    first = Command(name, api_only.address, tmp_path / "first.log", *flags)
    second = None
    try:
        held = until(lambda: holder(api_only, lease), 60, what="the first run's Lease")
        assert f"_{first.process.pid}_" in held, held
        until(lambda: first.leader_gauge() == 1, 30, what="the first run leading")
        first.stop(signal.SIGKILL)
        second = Command(name, api_only.address, tmp_path / "second.log", *flags, port=first.port)
        taken = until(lambda: f"_{second.process.pid}_" in holder(api_only, lease), 60,
                      what="the restart holding the Lease")  # fmt: skip
        assert taken is True
        until(lambda: second.leader_gauge() == 1, 30, what="the restart leading")
        lease_object = get(api_only, "lease", lease, "-n", "atoll-system")
        assert lease_object["spec"]["leaseTransitions"] == 1, lease_object
        assert "standing by" not in second.output(), second.output()
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            second.stop()


@pytest.mark.parametrize("name", ["atoll-controller", "atoll-scheduler"])
def test_no_leader_elect_acts_at_once_without_a_lease(name: str, api_only: UpProcess, tmp_path: Path) -> None:
    command = Command(name, api_only.address, tmp_path / "run.log", "--no-leader-elect")
    try:
        until(lambda: command.leader_gauge() == 1, 30, what="the leader gauge at 1")
        if name == "atoll-controller":  # and it acts: the Deployment controller makes the pods
            assert atoll(api_only, "apply", "-f", "-", stdin=DEPLOYMENT).returncode == 0
            until(lambda: len((get(api_only, "pods", "-l", "app=web") or {}).get("items", [])) == 2, 30,
                  what="two pods")  # fmt: skip
        assert get(api_only, "lease", name, "-n", "atoll-system") is None
        assert "standing by" not in command.output()
    finally:
        command.stop()
