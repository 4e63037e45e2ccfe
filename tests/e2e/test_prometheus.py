"""A real Prometheus scrapes `atoll up` with deploy/prometheus/prometheus.yml (ports rewritten,
1 s intervals) and evaluates deploy/prometheus/alerts.yml (every `for:` cut to 1 s):

- every component's target is up (API server, scheduler, controllers, the simulated fleet, and one
  extra `atoll-agent` process);
- nodes ready = fleet size; the controller manager leads; capacity is reported;
- pods applied are counted as scheduled and Running;
- SIGKILL of the extra agent (its heartbeats stop) drives AtollNodeNotReady for that node to firing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from atoll.client import Client
from tests.support.eventually import eventually
from tests.support.metrics_scrape import free_port, metrics_urls
from tests.support.objects import make_pod
from tests.support.system import require_binary
from tests.support.up_process import UpProcess, start_up

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
SIM_NODES = 3
DOOMED = "doomed-node"
# The hollow fleet renews its leases every 10 s, so the grace period must stay above that; the
# extra agent renews every second and is declared lost 12 s after it dies.
GRACE_SECONDS = 12
JOB_OF = {"api-server": "atoll-apiserver", "scheduler": "atoll-scheduler", "controllers": "atoll-controller",
          "sim-nodes": "atoll-agent"}

pytestmark = pytest.mark.timeout(120)


@dataclass
class Stack:
    up: UpProcess
    agent: subprocess.Popen[bytes]
    prometheus: str  # http://127.0.0.1:PORT


def prometheus_config(tmp: Path, targets: dict[str, list[str]]) -> Path:
    """deploy/prometheus/prometheus.yml with the test's targets, 1 s intervals and a rules copy."""
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    (tmp / "alerts.yml").write_text(yaml.safe_dump(rules))
    config["rule_files"] = [str(tmp / "alerts.yml")]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def query(prometheus: str, path: str, **params: str) -> Any:
    url = f"{prometheus}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except OSError as err:
        raise AssertionError(f"Prometheus not answering {path}: {err}") from None
    assert body["status"] == "success", body
    return body["data"]


def scalar(prometheus: str, promql: str) -> float:
    result = query(prometheus, "/api/v1/query", query=promql)["result"]
    assert len(result) == 1, f"{promql}: {result}"
    return float(result[0]["value"][1])


@contextlib.contextmanager
def running(command: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    prometheus_binary = require_binary("prometheus", "prometheus")
    up = start_up(tmp_path / "up", "--sim-nodes", str(SIM_NODES), "--metrics-listen-base", "127.0.0.1:0",
                  "--node-grace-period", str(GRACE_SECONDS))
    try:
        urls = metrics_urls(up)
        assert set(urls) == set(JOB_OF), up.output
        targets: dict[str, list[str]] = {JOB_OF[name]: [_host_port(url)] for name, url in urls.items()}
        agent_port = free_port()
        targets["atoll-agent"].append(f"127.0.0.1:{agent_port}")
        config = prometheus_config(tmp_path, targets)
        web_port = free_port()
        agent_command = [sys.executable, "-m", "agent.main", "--server", up.address, "--node-name", DOOMED,
                         "--driver", "sim-linux", "--lease-interval", "1", "--metrics-listen",
                         f"127.0.0.1:{agent_port}"]
        prometheus_command = [prometheus_binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                              f"--web.listen-address=127.0.0.1:{web_port}"]
        with running(agent_command) as agent, running(prometheus_command):
            yield Stack(up, agent, f"http://127.0.0.1:{web_port}")
    finally:
        up.kill(signal.SIGTERM)


def _host_port(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


async def test_prometheus_sees_the_cluster_and_fires_node_not_ready(stack: Stack) -> None:
    started = time.monotonic()
    prometheus = stack.prometheus

    async def all_targets_up() -> bool:
        targets = (await asyncio.to_thread(query, prometheus, "/api/v1/targets"))["activeTargets"]
        health = {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in targets}
        assert len(health) == 5 and set(health.values()) == {"up"}, health
        return True

    await eventually(all_targets_up, timeout=30, interval=0.5)

    async def series(promql: str, expected: float) -> bool:
        got = await asyncio.to_thread(scalar, prometheus, promql)
        assert got == expected, f"{promql} = {got}, expected {expected}"
        return True

    fleet = SIM_NODES + 1
    await eventually(lambda: series("sum(atoll_controller_node_ready)", fleet), timeout=20, interval=0.5)
    await eventually(lambda: series("count(atoll_agent_node_cpu_capacity_cores > 0)", fleet), timeout=5, interval=0.5)
    await eventually(lambda: series("sum(atoll_controller_leader)", 1), timeout=5, interval=0.5)

    async with Client.connect(stack.up.address) as client:
        for name in ("web-1", "web-2"):
            await client.create(make_pod(name))
    running_pods = 'sum(atoll_agent_workloads{kind="Pod",phase="Running"})'
    await eventually(lambda: series(running_pods, 2), timeout=20, interval=0.5)
    scheduled = 'sum(atoll_scheduler_schedule_attempts_total{result="scheduled"})'
    await eventually(lambda: series(scheduled, 2), timeout=5, interval=0.5)  # its scrape may lag the agent's
    created = 'sum(atoll_apiserver_requests_total{method="Create",kind="Pod",code="OK"})'
    await eventually(lambda: series(created, 2), timeout=5, interval=0.5)  # each target is scraped on its own
    alerts = (await asyncio.to_thread(query, prometheus, "/api/v1/alerts"))["alerts"]
    assert not [a for a in alerts if a["labels"]["alertname"] == "AtollNodeNotReady"], alerts

    stack.agent.send_signal(signal.SIGKILL)
    stack.agent.wait()

    async def node_not_ready_firing() -> bool:
        alerts = (await asyncio.to_thread(query, prometheus, "/api/v1/alerts"))["alerts"]
        firing = {a["labels"].get("node") for a in alerts
                  if a["labels"]["alertname"] == "AtollNodeNotReady" and a["state"] == "firing"}
        assert firing == {DOOMED}, alerts
        return True

    await eventually(node_not_ready_firing, timeout=GRACE_SECONDS + 20, interval=0.5)
    assert time.monotonic() - started < 60
