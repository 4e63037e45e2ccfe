"""atoll against Docker Swarm, N replicas to Ready on one real node:
``python -m tests.bench.swarm [--sizes 10,30,100] [--rounds 3]``.

Same machine, same run, same busybox root filesystem imported into both:

- atoll: ``atoll up --real --sim-nodes 0`` (API server, scheduler, controllers, this host as the
  one real node; its pod network in a namespace of the benchmark's own) in its own process; this
  process creates a Deployment of N busybox ``sleep`` pods through the API and times until a
  watch has seen all N pods Ready (Running, Ready condition True: what a Service would send to).
- Swarm: a private ``dockerd`` (tests/bench/private_dockerd.py: own data root, exec root,
  socket, cgroup parent and network namespace; the swarm on that namespace's loopback); this
  process creates a service of N replicas through the Engine API and times until the daemon's
  event stream has reported N of its containers started. That is the moment the task turns
  running, not later: every doubt is Swarm's.

Both are driven through their APIs, so neither pays for its CLI's start. Sizes alternate and so
does which system goes first, round by round; each run's workloads are deleted and gone before
the next starts. Per size: median of the rounds, and atoll / Swarm (target <= 0.5).

Needs root, runc, busybox-static, the CNI plugins and docker.io (``dockerd``); without dockerd it
prints why it skips and exits 0 (it is no test: CI does not run it). Hermetic (never reads the
user's client config); fails at once if ``atoll up`` or ``dockerd`` dies. Prints the calibration
figure (calibration.py; each time also in echo calls), a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from atoll import kinds
from atoll.client import Client
from atoll.images import ImageStore, image_dir_for
from atoll.v1 import object_pb2
from controller.controllers.workloads import is_ready
from tests.bench.calibration import calibration_line, measure
from tests.bench.private_dockerd import Dockerd, private_dockerd, why_unavailable
from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.e2e import artifacts
from tests.support.hermetic import isolate_environment
from tests.support.netns import NETNS_DIR, scratch_netns
from tests.support.up_process import start_up

TARGET_RATIO = 0.5
REPOSITORY, TAG = "busybox", "bench"
IMAGE = f"{REPOSITORY}:{TAG}"
RUN_LABEL = "bench.atoll.dev/run"
RUN_TIMEOUT_S = 300.0
POLL_S = 0.1


def _deployment(name: str, node: str, replicas: int) -> object_pb2.Object:
    obj = object_pb2.Object()
    deployment = obj.deployment
    deployment.metadata.name, deployment.metadata.namespace = name, "default"
    deployment.spec.replicas = replicas
    deployment.spec.selector.match_labels[RUN_LABEL] = name
    pod = deployment.spec.template.pod
    pod.metadata.labels[RUN_LABEL] = name
    pod.spec.scheduling.node_selector["atoll.dev/hostname"] = node
    pod.spec.termination_grace_period_seconds = 0
    container = pod.spec.containers.add(name="main", image=IMAGE)
    container.command.extend(["sleep", "3600"])
    return obj


async def atoll_run(client: Client, node: str, name: str, replicas: int) -> float:
    """Seconds from the Deployment's create to a watch seeing ``replicas`` pods Ready; then deletes
    it and returns once its pods are gone."""
    began = time.perf_counter()
    created = await client.create(_deployment(name, node, replicas))
    revision = kinds.unwrap(created).metadata.resource_version
    ready: set[str] = set()
    async with asyncio.timeout(RUN_TIMEOUT_S):
        async for event in client.watch("pod", "default", label_selector=f"{RUN_LABEL}={name}",
                                        resource_version=revision):
            pod = kinds.unwrap(event.object)
            if pod.status.phase == "Failed":
                raise SystemExit(f"pod {pod.metadata.name} failed: {pod.status.message or pod.status.reason}")
            (ready.add if is_ready(pod) else ready.discard)(pod.metadata.name)
            if len(ready) >= replicas:
                break
    elapsed = time.perf_counter() - began
    await client.delete("deployment", name)
    async with asyncio.timeout(RUN_TIMEOUT_S):
        while (await client.list_all("pod", "default", label_selector=f"{RUN_LABEL}={name}"))[0]:
            await asyncio.sleep(POLL_S)
    return elapsed


async def swarm_run(docker: Dockerd, name: str, replicas: int) -> float:
    """Seconds from the service's create to the daemon reporting ``replicas`` of its containers
    started; then removes it and returns once its containers are gone."""
    label = f"com.docker.swarm.service.name={name}"
    started: set[str] = set()
    async with docker.event_stream({"type": ["container"], "event": ["start"], "label": [label]}) as events:
        began = time.perf_counter()
        await docker.call("POST", "/services/create", {
            "Name": name,
            "TaskTemplate": {"ContainerSpec": {"Image": IMAGE, "Command": ["sleep", "3600"]}},
            "Mode": {"Replicated": {"Replicas": replicas}},
        })  # fmt: skip
        async with asyncio.timeout(RUN_TIMEOUT_S):
            async for event in events:
                started.add(event["id"])
                if len(started) >= replicas:
                    break
        elapsed = time.perf_counter() - began
    await docker.call("DELETE", f"/services/{name}")
    filters = json.dumps({"label": [label]})
    async with asyncio.timeout(RUN_TIMEOUT_S):
        while await docker.call("GET", "/containers/json", params={"all": "true", "filters": filters}):
            await asyncio.sleep(POLL_S)
    return elapsed


async def _measure(args: argparse.Namespace, client: Client, docker: Dockerd, node: str) -> dict[str, Any]:
    """The alternating runs of the module docstring, after one untimed warm-up run each."""
    await atoll_run(client, node, "warm-up", 2)
    await swarm_run(docker, "warm-up", 2)
    atoll: dict[int, list[float]] = {size: [] for size in args.sizes}
    swarm: dict[int, list[float]] = {size: [] for size in args.sizes}
    for round_ in range(args.rounds):
        for index, size in enumerate(args.sizes):
            name = f"r{round_}-n{size}"
            if (round_ + index) % 2:
                swarm[size].append(await swarm_run(docker, name, size))
                atoll[size].append(await atoll_run(client, node, name, size))
            else:
                atoll[size].append(await atoll_run(client, node, name, size))
                swarm[size].append(await swarm_run(docker, name, size))
            print(f"bench: round {round_ + 1} N={size}: atoll {atoll[size][-1]:.2f} s, "
                  f"Swarm {swarm[size][-1]:.2f} s", file=sys.stderr, flush=True)
    sizes = []
    for size in args.sizes:
        atoll_s, swarm_s = statistics.median(atoll[size]), statistics.median(swarm[size])
        sizes.append({
            "replicas": size, "atoll_s": round(atoll_s, 3), "swarm_s": round(swarm_s, 3),
            "ratio": round(atoll_s / swarm_s, 3), "target_ratio": TARGET_RATIO, "ok": atoll_s / swarm_s <= TARGET_RATIO,
            "atoll_runs_s": [round(x, 3) for x in atoll[size]], "swarm_runs_s": [round(x, 3) for x in swarm[size]],
        })  # fmt: skip
    return {"sizes": sizes, "rounds": args.rounds}


async def bench(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    node = socket.gethostname()
    data_dir = scratch / "data"
    rootfs = artifacts.busybox_rootfs(scratch / "rootfs", Path(shutil.which("busybox") or "busybox"))
    ImageStore(image_dir_for(data_dir, node)).import_path(rootfs, IMAGE)
    with exit_on_child_death(), Supervisor() as children, scratch_netns("atoll-bench") as netns:
        calibration = await measure(children)
        async with private_dockerd(children) as docker:
            await docker.import_rootfs(rootfs, REPOSITORY, TAG)
            # The node's pod network in a namespace of the benchmark's own, not on the host's interfaces.
            up = start_up(data_dir, "--real", "--sim-nodes", "0", "--node-netns", str(NETNS_DIR / netns))
            children.adopt("atoll up --real", up.process, up.output)
            async with Client.connect(up.address) as client:
                await children.guard(_wait_for_node(client, node))
                results: dict[str, Any] = {"benchmark": "swarm", "node": node}
                results.update(await children.guard(_measure(args, client, docker, node)))
    results["calibration"] = calibration.as_json()
    for row in results["sizes"]:
        row.update(calibration.ratios(durations={"atoll": row["atoll_s"], "swarm": row["swarm_s"]}))
    return results


async def _wait_for_node(client: Client, node: str) -> None:
    async with asyncio.timeout(60):
        while not any(item.node.metadata.name == node for item in (await client.list_all("node"))[0]):
            await asyncio.sleep(POLL_S)


def why_skipped() -> str | None:
    """The reason this machine cannot run the benchmark, or None."""
    for binary, package in (("runc", "runc"), ("busybox", "busybox-static")):
        if shutil.which(binary) is None:
            return f"{binary} not found (apt-get install {package})"
    return why_unavailable()


def _table(results: dict[str, Any]) -> None:
    print(calibration_line(results["calibration"]))
    print(f"{'replicas':>8}{'atoll':>10}{'Swarm':>10}{'atoll/Swarm':>13}{'target':>9}{'ok':>5}")
    for row in results["sizes"]:
        print(f"{row['replicas']:>8}{row['atoll_s']:>8.2f} s{row['swarm_s']:>8.2f} s{row['ratio']:>13.3f}"
              f"{'<= 0.5':>9}{'yes' if row['ok'] else 'NO':>5}")


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.swarm", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=[10, 30, 100],
                        help="replica counts, comma-separated (default 10,30,100)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per size and system (default 3)")
    return parser


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes: {text[:40]!r} is not a comma-separated list of counts") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("--sizes: every count must be at least 1")
    return sizes


def main() -> None:
    args = options().parse_args()
    skipped = why_skipped()
    if skipped is not None:
        print(f"skipped: {skipped}")
        print(json.dumps({"benchmark": "swarm", "skipped": skipped}))
        return
    isolate_environment("atoll-bench-swarm-")
    with tempfile.TemporaryDirectory(prefix="atoll-bench-swarm-") as scratch:
        results = asyncio.run(bench(args, Path(scratch)))
    _table(results)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
