"""`atoll node drain` through the real CLI against a real `atoll up` (scheduler, controllers and a
simulated fleet with two hypervisor nodes): a standalone VM is stopped and placed again elsewhere,
the same object (UID kept); a Pod no controller owns is refused without --force, as kubectl does."""

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
metadata: {name: keep, namespace: default}
spec:
  vcpus: 1
  memory: 1Gi
  boot: {kernel: /var/lib/atoll/images/vmlinuz-6.1}
  runStrategy: Always
  scheduling:
    tolerations: [{key: atoll.dev/hypervisor, operator: Exists}]
"""
POD = """apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: lonely, namespace: default}
spec:
  os: linux
  containers: [{name: main, image: busybox}]
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = start_up(tmp_path_factory.mktemp("drain"), "--sim-nodes", "10")
    yield process
    process.kill(signal.SIGTERM)


def get(up: UpProcess, kind: str, name: str) -> Any:
    result = atoll(up, "get", kind, name, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def running_on(up: UpProcess, kind: str, name: str) -> Callable[[], Any]:
    def check() -> Any:
        obj = get(up, kind, name)
        return obj if obj.get("status", {}).get("phase") == "Running" and obj["spec"].get("nodeName") else None

    return check


def test_drain_stops_a_standalone_vm_and_starts_the_same_object_on_another_node(up: UpProcess) -> None:
    assert atoll(up, "apply", "-f", "-", stdin=VM).returncode == 0
    before = until(running_on(up, "vm", "keep"))
    first_node, uid = before["spec"]["nodeName"], before["metadata"]["uid"]

    drained = atoll(up, "node", "drain", first_node, "--force", "--timeout", "60")
    assert drained.returncode == 0, drained.stderr
    assert "evicting virtualmachine/keep" in drained.stdout
    assert f"node/{first_node} drained" in drained.stdout

    after = until(running_on(up, "vm", "keep"))
    assert after["metadata"]["uid"] == uid
    assert after["spec"]["nodeName"] != first_node
    assert "vm.atoll.dev/evict-from" not in after["metadata"].get("annotations", {})
    described = atoll(up, "describe", "vm", "keep")
    assert "Evicted" in described.stdout, described.stdout

    again = atoll(up, "node", "drain", first_node, "--timeout", "60")
    assert again.returncode == 0, again.stderr
    assert get(up, "vm", "keep")["metadata"]["uid"] == uid


def test_drain_refuses_a_pod_no_controller_owns_unless_forced(up: UpProcess) -> None:
    assert atoll(up, "apply", "-f", "-", stdin=POD).returncode == 0
    node = until(running_on(up, "pod", "lonely"))["spec"]["nodeName"]

    refused = atoll(up, "node", "drain", node, "--timeout", "60")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"error: cannot drain node/{node}: pod/default/lonely not managed by a controller "
        "(would be lost; use --force to delete them anyway)"
    ]
    assert get(up, "pod", "lonely")["spec"]["nodeName"] == node

    forced = atoll(up, "node", "drain", node, "--force", "--timeout", "60")
    assert forced.returncode == 0, forced.stderr
    gone = atoll(up, "get", "pod", "lonely")
    assert gone.returncode == 1 and "NotFound" in gone.stderr
    assert atoll(up, "node", "uncordon", node).returncode == 0

