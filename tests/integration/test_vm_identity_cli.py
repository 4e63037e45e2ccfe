"""One VirtualMachine object for the VM's whole life, through the real CLI against a real `atoll up`
(scheduler, controllers, a simulated fleet with hypervisor nodes): `atoll vm restart`, twice,
`atoll vm stop` and `start`, and a guest that crashes keep the name, UID, creation time and
Events, each run is numbered and `atoll describe vm` lists the current run and the previous ones
(atoll/vm_runs.py). A node that is lost: tests/integration/test_controllers_node_failure.py."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.test_cli_e2e import atoll
from tests.support.eventually import until
from tests.support.up_process import UpProcess, start_up

VM = """apiVersion: atoll.dev/v1
kind: VirtualMachine
metadata:
  name: {name}
  namespace: default
  annotations: {{sim.atoll.dev/script: "{script}"}}
spec:
  vcpus: 1
  memory: 1Gi
  boot: {{kernel: /var/lib/atoll/images/vmlinuz-6.1}}
  runStrategy: Always
  scheduling:
    tolerations: [{{key: atoll.dev/hypervisor, operator: Exists}}]
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = start_up(tmp_path_factory.mktemp("vm-identity"), "--sim-nodes", "10")
    yield process
    process.kill(signal.SIGTERM)


def get_vm(up: UpProcess, name: str) -> Any:
    result = atoll(up, "get", "vm", name, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def running_run(up: UpProcess, name: str, number: int) -> Callable[[], Any]:
    """The VM once run ``number`` (or a later one) is Running on a node."""

    def check() -> Any:
        vm = get_vm(up, name)
        status = vm.get("status", {})
        run = int(status.get("currentRun", {}).get("number", 0))
        return vm if status.get("phase") == "Running" and run >= number and vm["spec"].get("nodeName") else None

    return check


def identity(vm: Any) -> tuple[str, str, str]:
    meta = vm["metadata"]
    return meta["name"], meta["uid"], meta["creationTimestamp"]


def test_restart_twice_stop_and_start_keep_the_object_its_events_and_list_the_runs(up: UpProcess) -> None:
    assert atoll(up, "apply", "-f", "-", stdin=VM.format(name="keep", script="sleep infinity")).returncode == 0
    first = until(running_run(up, "keep", 1))

    for number in (2, 3):
        restarted = atoll(up, "vm", "restart", "keep")
        assert restarted.returncode == 0, restarted.stderr
        assert restarted.stdout == "virtualmachine/keep restarted\n"
        after = until(running_run(up, "keep", number))
        assert identity(after) == identity(first)
        assert int(after["status"]["currentRun"]["number"]) == number
        assert "vm.atoll.dev/action" not in after["metadata"].get("annotations", {})

    previous = after["status"]["previousRuns"]
    assert [int(run["number"]) for run in previous] == [2, 1]
    assert all(run["phase"] == "Stopped" and run.get("node") for run in previous)

    # stop, then start: the agent never boots the stopped run again itself; the start is run 4
    assert atoll(up, "vm", "stop", "keep").returncode == 0
    until(lambda: (vm := get_vm(up, "keep"))["status"].get("phase") == "Stopped" and vm)
    assert atoll(up, "vm", "start", "keep").returncode == 0
    started = until(running_run(up, "keep", 4))
    assert identity(started) == identity(first)
    assert int(started["status"]["currentRun"]["number"]) == 4
    described = atoll(up, "describe", "vm", "keep").stdout
    runs = described[described.index("Runs:"):described.index("Events:")].splitlines()
    assert [line.split()[0] for line in runs[3:]] == ["4", "3", "2", "1"], described
    assert "Running" in runs[3] and all("Stopped" in line for line in runs[4:]), described
    events = described[described.index("Events:"):]
    assert events.count("Restarting") == 3, described
    assert "run 1 on node" in events and "run 2 on node" in events, described
    assert "Started" in events, described  # the first run's Events are still the VM's


def test_a_guest_that_crashes_boots_again_as_the_next_run_of_the_same_object(up: UpProcess) -> None:
    assert atoll(up, "apply", "-f", "-", stdin=VM.format(name="crashy", script="sleep 1; crash")).returncode == 0
    first = until(running_run(up, "crashy", 1))

    def crashed_once() -> Any:
        vm = get_vm(up, "crashy")
        previous = vm.get("status", {}).get("previousRuns", [])
        return vm if previous and previous[-1].get("reason") == "GuestCrashed" else None

    after = until(crashed_once)
    assert identity(after) == identity(first)
    crashed = after["status"]["previousRuns"][-1]
    assert (int(crashed["number"]), crashed["phase"], int(crashed["exitCode"])) == (1, "Failed", 1)
    assert crashed["node"] == first["spec"]["nodeName"] and crashed.get("endTime")
    assert int(after["status"]["currentRun"]["number"]) >= 2
    described = atoll(up, "describe", "vm", "crashy").stdout
    assert "GuestCrashed" in described[described.index("Runs:"):], described
    assert atoll(up, "delete", "vm", "crashy", "--wait").returncode == 0
