"""Through `atoll up` (simulated nodes, real time) and the real CLI: a Deployment whose new
replicas fail readiness (sim.atoll.dev/fail-probes) never counts them available and its rolling
update stalls with the old Ready replicas serving; two pods claiming one hostPort never share
the node."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_cli_e2e import atoll
from tests.support.eventually import until
from tests.support.up_process import UpProcess, start_up

DEPLOYMENT = """
apiVersion: atoll.dev/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  template:
    pod:
      metadata:
        labels: {{app: web}}
        annotations: {{sim.atoll.dev/fail-probes: "{fail}"}}
      spec:
        containers:
        - name: web
          image: {image}
          ports: [{{name: http, containerPort: 8080}}]
          readinessProbe: {{httpGet: {{port: http, path: /ready}}, periodSeconds: 1, failureThreshold: 1}}
"""
HOST_PORT_PODS = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: first}
spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80, hostPort: 8080}]}]}
---
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: second}
spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80, hostPort: 8080}]}]}
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = start_up(tmp_path_factory.mktemp("up"), "--sim-nodes", "1")
    yield process
    process.kill(signal.SIGTERM)


def get(up: UpProcess, *args: str) -> Any:
    result = atoll(up, "get", *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def test_a_rollout_to_replicas_failing_readiness_stalls_and_keeps_the_old_ready_ones(up: UpProcess) -> None:
    assert atoll(up, "apply", "-f", "-", stdin=DEPLOYMENT.format(fail="", image="web:1")).returncode == 0
    until(lambda: get(up, "deploy", "web").get("status", {}).get("availableReplicas") == 3, 30,
          what="three ready replicas")
    old = {p["metadata"]["name"] for p in get(up, "pods", "-l", "app=web")["items"]}
    assert atoll(up, "apply", "-f", "-", stdin=DEPLOYMENT.format(fail="readiness", image="web:2")).returncode == 0

    def new_pod_running() -> list[dict[str, Any]]:
        pods = get(up, "pods", "-l", "app=web")["items"]
        return [p for p in pods if p["metadata"]["name"] not in old and p.get("status", {}).get("phase") == "Running"]

    (new,) = until(new_pod_running, 30, what="the surge replica runs")
    time.sleep(3)  # three readiness periods: the new replica stays unready, nothing old is deleted
    pods = {p["metadata"]["name"]: p for p in get(up, "pods", "-l", "app=web")["items"]}
    assert set(pods) == old | {new["metadata"]["name"]}
    assert all(ready(pods[name]) for name in old)
    assert not ready(pods[new["metadata"]["name"]])
    status = get(up, "deploy", "web")["status"]
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (4, 1, 3)
    described = atoll(up, "describe", "pod", new["metadata"]["name"]).stdout
    assert "Unhealthy" in described and "Readiness probe of container web failed" in described


def test_two_pods_with_one_host_port_do_not_share_the_only_node(up: UpProcess) -> None:
    assert atoll(up, "apply", "-f", "-", stdin=HOST_PORT_PODS).returncode == 0
    message = "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."

    def placed_and_explained() -> bool:
        items = get(up, "pods")["items"]
        pods = {p["metadata"]["name"]: p for p in items if p["metadata"]["name"] in ("first", "second")}
        if len(pods) < 2 or not pods["first"]["spec"].get("nodeName"):
            return False
        conditions = pods["second"].get("status", {}).get("conditions", [])
        return any(message in c.get("message", "") for c in conditions)

    until(placed_and_explained, 30, what="first placed and second pending with the reason")
    assert not get(up, "pod", "second")["spec"].get("nodeName")
