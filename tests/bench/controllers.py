"""Controller benchmark: reconcile throughput of the Deployment and node lifecycle controllers.

Run: python -m tests.bench.controllers [--nodes 5000] [--replicas 10000] [--fail 500] [--quick]

Processes: `atoll up --store memory --no-scheduler --no-controllers` (the API server alone: its
in-process controllers, with their own grace period, would fight the measured ones over every
failed node's taint), `atoll-controller` (every controller), and this one, which plays the
scheduler and the node agents (tests/support/fake_nodes: round-robin binding, Running reported at
once, Leases renewed every --heartbeat seconds).

Phases, each timed from the triggering write until the API shows the end state:
1. scale a Deployment from 0 to --replicas: every replica Running and the Deployment available;
2. change its template (rolling update, maxSurge 25%, maxUnavailable 0): all replicas updated
   and available;
3. --fail nodes stop heartbeating: every affected replica Running on a live node. Reported from
   the first NoExecute taint the controller puts on a failed node (that is, excluding the grace
   period; pods have no toleration and the eviction delay is 0 here), and in total, with the node
   lifecycle controller's reconciles in that phase and how many of them failed (each failure is
   retried after a per-node back-off under a global 10 retries/s budget, so failures cost time).
Hermetic (tests/support/hermetic.py); fails at once if `atoll up` or `atoll-controller` dies
(supervisor.py). Prints the calibration figure (calibration.py) and each phase in echo calls, a
table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from atoll.client import Client
from controller.controllers.node_lifecycle.reconciler import NAME
from tests.bench.calibration import measure
from tests.bench.report import run_and_report
from tests.bench.supervisor import Supervisor
from tests.support.fake_nodes import FakeNodes
from tests.support.metrics_scrape import free_port, scrape, value
from tests.support.up_process import start_up
from tests.unit.controllers.builders import make_deployment


async def wait_for(condition: Callable[[], bool], poll: float = 0.05, timeout: float = 1800.0) -> float:
    """Seconds until ``condition()`` holds (polled)."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("benchmark phase did not finish")
        await asyncio.sleep(poll)
    return time.perf_counter() - started


class DeploymentView:
    """The Deployment's latest status, refreshed by polling (cheap: one Get)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.status: tuple[int, int, int, int, bool] = (0, 0, 0, 0, False)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            deployment = (await self.client.get("Deployment", "bench")).deployment
            status = deployment.status
            observed = status.observed_generation >= deployment.metadata.generation
            self.status = (
                status.replicas, status.updated_replicas, status.available_replicas, deployment.spec.replicas, observed
            )
            await asyncio.sleep(0.1)

    def complete(self, replicas: int) -> bool:
        got, updated, available, wanted, observed = self.status
        return observed and wanted == replicas and got == updated == available == replicas


async def run(args: argparse.Namespace, children: Supervisor) -> dict[str, float | int | None]:
    calibration = await measure(children)
    with tempfile.TemporaryDirectory() as data_dir:
        up = start_up(Path(data_dir), "--store", "memory", "--no-scheduler", "--no-controllers", "--sim-nodes", "0")
        children.adopt("atoll up", up.process, up.output)
        port = free_port()
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        children.start(
            "atoll-controller",
            [sys.executable, "-m", "controller.main", "--server", up.address, "--log-level", "WARNING",
             "--node-grace-period", str(args.grace), "--default-toleration-seconds", "0", "--workers", "8",
             "--metrics-listen", f"127.0.0.1:{port}"],
        )
        client = Client.connect(up.address, timeout=120)
        names = [f"node-{i:05d}" for i in range(args.nodes)]
        nodes = FakeNodes(client, names, heartbeat=args.heartbeat)
        try:
            result = await children.guard(_phases(args, client, nodes, names, metrics_url))
        finally:
            await nodes.stop()
            await client.close()
            children.stop_all()
    return {
        **result,
        "calibration_echo_calls_per_s": round(calibration.echo_calls_per_s),
        **calibration.ratios(durations={
            "scale_up": float(result["scale_up_s"]), "rolling_update": float(result["rolling_update_s"]),
            "node_failure_from_first_taint": float(result["node_failure_from_first_taint_s"]),
        }),
    }


async def _phases(
    args: argparse.Namespace, client: Client, nodes: FakeNodes, names: list[str], metrics_url: str
) -> dict[str, float | int]:
    """The three timed phases of the module docstring; their figures."""
    started = time.perf_counter()
    await nodes.start()
    register = time.perf_counter() - started
    deployment = make_deployment("bench", replicas=0, max_surge="25%", max_unavailable="0")
    deployment.spec.template.pod.metadata.labels["app"] = "bench"
    await client.create(deployment)
    view = DeploymentView(client)
    view.start()
    await wait_for(lambda: view.complete(0))

    current = (await client.get("Deployment", "bench")).deployment
    current.spec.replicas = args.replicas
    await client.update(current)
    scale_up = await wait_for(lambda: view.complete(args.replicas) and len(nodes.running()) == args.replicas)

    current = (await client.get("Deployment", "bench")).deployment
    current.spec.template.pod.spec.containers[0].image = "nginx:2"
    await client.update(current)
    await asyncio.sleep(0.2)
    rolling = await wait_for(lambda: view.complete(args.replicas)) + 0.2

    victims = set(names[: args.fail])
    affected = sum(1 for node in nodes.bound_to("Pod").values() if node in victims)
    reconciles_before = _node_lifecycle_reconciles(metrics_url)
    nodes.fail(*victims)
    failed_at = time.perf_counter()
    first_taint = asyncio.create_task(_first_taint(client, victims))

    def replaced() -> bool:
        bound = nodes.bound_to("Pod")
        running = [pod for pod in nodes.running() if pod.spec.node_name not in victims]
        return len(running) == args.replicas and not any(node in victims for node in bound.values())

    await wait_for(replaced, poll=0.1)
    done_at = time.perf_counter()
    tainted_at = await first_taint
    reconciles = {
        result: count - reconciles_before[result] for result, count in _node_lifecycle_reconciles(metrics_url).items()
    }
    return {
        "nodes": args.nodes,
        "replicas": args.replicas,
        "failed_nodes": args.fail,
        "affected_replicas": affected,
        "register_nodes_s": round(register, 2),
        "scale_up_s": round(scale_up, 2),
        "rolling_update_s": round(rolling, 2),
        "node_failure_total_s": round(done_at - failed_at, 2),
        "node_failure_from_first_taint_s": round(done_at - tainted_at, 2),
        "node_failure_reconciles": sum(reconciles.values()),
        "node_failure_reconcile_errors": reconciles["error"],
        "grace_s": args.grace,
        "heartbeat_s": args.heartbeat,
        "cpus": os.cpu_count() or 0,
    }


def _node_lifecycle_reconciles(metrics_url: str) -> dict[str, int]:
    """The node lifecycle controller's reconciles so far by result (success, requeue, error)."""
    families = scrape(metrics_url)
    return {
        result: int(value(families, "atoll_controller_reconciles_total", controller=NAME, result=result) or 0)
        for result in ("success", "requeue", "error")
    }


async def _first_taint(client: Client, victims: set[str]) -> float:
    async for event in client.watch("Node", resource_version=0):
        node = event.object.node
        if node.metadata.name in victims and any(t.key == "node.atoll.dev/unreachable" for t in node.spec.taints):
            return time.perf_counter()
    raise RuntimeError("node watch ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=10_000)
    parser.add_argument("--fail", type=int, default=500)
    parser.add_argument("--grace", type=float, default=40.0, help="node grace period (controller flag)")
    parser.add_argument("--heartbeat", type=float, default=10.0, help="lease renew interval of the fake nodes")
    parser.add_argument("--quick", action="store_true", help="500 nodes, 1000 replicas, 50 failures, grace 10 s")
    args = parser.parse_args()
    if args.quick:
        args.nodes, args.replicas, args.fail, args.grace, args.heartbeat = 500, 1000, 50, 10.0, 3.0
    run_and_report("atoll-bench-controllers-", lambda children: run(args, children))


if __name__ == "__main__":
    main()
