"""Through `atoll up` and the real CLI: applied Nodes and workloads get the expected placements and explanations."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import pytest

from tests.integration.test_cli_e2e import atoll
from tests.support.up_process import UpProcess, start_up

FLEET = """
apiVersion: atoll.dev/v1
kind: Node
metadata: {name: lnx-1}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
  nodeInfo: {os: linux}
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: atoll.dev/v1
kind: Node
metadata: {name: w22-1}
status:
  capacity: {cpu: "8", memory: 16Gi, pods: "110"}
  allocatable: {cpu: "8", memory: 16Gi, pods: "110"}
  nodeInfo: {os: windows, osBuild: "10.0.20348"}
  windowsIsolation: [process, hyperv]
  conditions: [{type: Ready, status: "True"}]
"""
WORKLOADS = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: web}
spec: {containers: [{name: web, image: busybox}]}
---
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: iis}
spec:
  os: windows
  windows: {isolation: hyperv, imageBuild: "10.0.17763"}
  containers: [{name: iis, image: mcr.microsoft.com/windows/servercore/iis:ltsc2019}]
---
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: legacy}
spec:
  os: windows
  windows: {isolation: process, imageBuild: "10.0.17763"}
  containers: [{name: app, image: legacy:ltsc2019}]
---
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: huge}
spec: {containers: [{name: big, image: busybox, resources: {requests: {memory: 64Gi}}}]}
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = start_up(tmp_path_factory.mktemp("up"), "--sim-nodes", "0")
    yield process
    process.kill(signal.SIGTERM)


def _pods(up: UpProcess) -> dict[str, dict[str, object]]:
    result = atoll(up, "get", "pods", "-o", "json")
    assert result.returncode == 0, result.stderr
    return {item["metadata"]["name"]: item for item in json.loads(result.stdout)["items"]}


def test_applied_fleet_places_workloads_and_explains_refusals(up: UpProcess) -> None:
    assert atoll(up, "apply", "-f", "-", stdin=FLEET).returncode == 0
    assert atoll(up, "apply", "-f", "-", stdin=WORKLOADS).returncode == 0
    deadline = time.monotonic() + 20
    while True:
        pods = _pods(up)
        placed = {name: pod["spec"].get("nodeName") for name, pod in pods.items()}  # type: ignore[union-attr]
        explained = all(
            any(c.get("reason") == "Unschedulable" for c in pods[name].get("status", {}).get("conditions", []))  # type: ignore[union-attr]
            for name in ("legacy", "huge")
        )
        if placed["web"] and placed["iis"] and explained:
            break
        assert time.monotonic() < deadline, placed
        time.sleep(0.2)
    assert placed == {"web": "lnx-1", "iis": "w22-1", "legacy": None, "huge": None}
    described = atoll(up, "describe", "pod", "legacy")
    assert described.returncode == 0
    assert "0/2 nodes are available" in described.stdout
    assert "FailedScheduling" in described.stdout
    huge = atoll(up, "describe", "pod", "huge").stdout
    assert "insufficient memory" in huge
