"""Agent benchmark: a hollow fleet of 5,000 nodes, 10,000 pods created -> Running, end to end,
behind 1,000 Services.

Run: python -m tests.bench.agent [--nodes 5000] [--pods 10000] [--rate 1000] [--store sqlite]
                                 [--services 1000] [--bind-directly | --scheduler-inside-up]
                                 [--cpu-quota CORES]

Four processes, as in production: ``atoll up --dev`` (the API server), the scheduler, the hollow
fleet (``atoll-agent hollow --nodes N``: default mixed fleet, 70% Linux), and this load generator;
with ``--scheduler-inside-up`` the scheduler runs inside ``atoll up``, as its quick start does.
Phases: (1) wait until every node registered; (2) heartbeat only: Lease renewals of every node
for ``--heartbeat-seconds`` while a probe makes Update calls (API mutating-call latency, and the
hollow process's idle CPU); (3) create ``--pods`` Linux pods at ``--rate`` per second; a watch
records when each is Running. With ``--bind-directly`` (or when the scheduler is missing) the
generator binds each pod itself with the Bind RPC, round robin over the Linux nodes, and says so.

With ``--services N`` (default 1,000; 0 = none, today's benchmark) N Services are created after the
nodes registered (cluster IP allocation: create latency), pod i carries the label of Service
i mod N, and the endpoints controller runs in the controller process: a watch on Endpoints records
when each Running pod first appears among its Service's Ready addresses (Running -> endpoint) and
when every pod is listed; the controller's own reconcile figures come from its /metrics. Run it
with ``--services 0`` beside to compare API and scheduler figures (same-run calibration ratios).

``--cpu-quota CORES`` runs all of it, the calibration echo included, on a CFS quota of CORES cores
(tests/bench/cpu_quota.py), to reproduce a slower machine: 0.6 brings an echo of 8,000-13,000
calls/s down to about 4,000.

Hermetic (tests/support/hermetic.py); fails at once if one of its processes dies (supervisor.py).
Prints the calibration figure (calibration.py), a table, then one JSON line. Targets on a 2-core
machine: 5,000 nodes with API p99 <= 1 s, hollow RSS <= 1 GiB, pod startup p99 <= 1 s at 1,000 pods/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from atoll import kinds, pki
from atoll.client import Client
from atoll.config import CONFIG_ENV, ClientConfig, write_client_config
from atoll.v1 import api_pb2, lease_pb2
from tests.bench.calibration import measure
from tests.bench.cpu_quota import QuotaUnavailable, cpu_quota, parse_cores
from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.support.hermetic import isolate_environment
from tests.support.metrics_scrape import free_port, scrape
from tests.support.objects import make_pod, make_service
from tests.support.up_process import admin_config, start_up

TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class ProcessMeter:
    """CPU seconds and memory of one process, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def memory(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0


def scheduler_available() -> bool:
    try:
        import scheduler.main  # noqa: F401
    except ImportError:
        return False
    return True


# 32,768 /24 node ranges, room for any fleet this benchmark runs, apart from the service CIDR.
BENCH_CLUSTER_CIDR = "10.128.0.0/9"
BENCH_SERVICE_CIDR = "10.96.0.0/16"
SERVICE_PORT, TARGET_PORT = 80, 8080


async def wait_for_nodes(client: Client, count: int, timeout: float) -> list[str]:
    """The names of ``count`` registered nodes, once each has its pod CIDR."""
    deadline = time.monotonic() + timeout
    while True:
        nodes, _ = await client.list_all("nodes", limit=5000)
        ready = [kinds.unwrap(n).metadata.name for n in nodes if kinds.unwrap(n).spec.pod_cidr]
        if len(ready) >= count:
            return ready
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(ready)}/{count} nodes registered with a pod CIDR after {timeout:.0f}s")
        await asyncio.sleep(1.0)


async def probe_updates(client: Client, seconds: float, per_second: float) -> list[float]:
    """Update one Lease ``per_second`` times a second; the latency of each call."""
    lease = lease_pb2.Lease()
    lease.metadata.name, lease.metadata.namespace = "bench-probe", "default"
    await client.apply(lease)
    latencies: list[float] = []
    end = time.monotonic() + seconds
    counter = 0
    while time.monotonic() < end:
        counter += 1
        lease.spec.lease_transitions = counter
        started = time.perf_counter()
        await client.update(lease)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, 1.0 / per_second - latencies[-1]))
    return latencies


async def watch_running(
    client: Client, revision: int, running: dict[str, float], bound: dict[str, float], total: int, done: asyncio.Event
) -> None:
    async for event in client.watch("pods", "bench", resource_version=revision):
        pod = event.object.pod
        if pod.spec.node_name and pod.metadata.name not in bound:
            bound[pod.metadata.name] = time.perf_counter()
        if pod.status.phase == "Running" and pod.metadata.name not in running:
            running[pod.metadata.name] = time.perf_counter()
            if len(running) >= total:
                done.set()
                return


def service_name(index: int) -> str:
    return f"svc-{index:04d}"


async def create_services(client: Client, count: int) -> list[float]:
    """``count`` ClusterIP Services in namespace bench (256 calls in flight), Service i selecting
    app=svc-i; the latency of each create (which allocates its cluster IP)."""
    limit = asyncio.Semaphore(256)
    latencies: list[float] = []

    async def create(index: int) -> None:
        service = make_service(service_name(index), "bench", app=service_name(index))
        service.service.spec.ports[0].target_port = str(TARGET_PORT)
        async with limit:
            begun = time.perf_counter()
            await client.create(service)
            latencies.append(time.perf_counter() - begun)

    await asyncio.gather(*(create(index) for index in range(count)))
    return latencies


async def watch_endpoints(
    client: Client, revision: int, listed: dict[str, float], total: int, done: asyncio.Event
) -> None:
    """Records when each pod is first among the Ready addresses of its Service's Endpoints."""
    async for event in client.watch("endpoints", "bench", resource_version=revision):
        now = time.perf_counter()
        for subset in event.object.endpoints.subsets:
            for address in subset.addresses:
                listed.setdefault(address.target_ref.name, now)
        if len(listed) >= total:
            done.set()
            return


async def create_pods(
    client: Client,
    count: int,
    rate: float,
    created: dict[str, float],
    call_latencies: list[float],
    linux_nodes: list[str] | None,
    services: int = 0,
) -> None:
    """Create ``count`` pods at ``rate`` per second (at most 256 calls in flight); with
    ``linux_nodes``, bind each batch of 100 created pods round robin over them; with ``services``,
    pod i is labelled for Service i mod ``services``."""
    limit = asyncio.Semaphore(256)
    start = time.perf_counter()
    pending: list[str] = []
    binds: list[asyncio.Task[None]] = []
    next_node = 0

    async def bind(names: list[str], offset: int) -> None:
        assert linux_nodes is not None
        bindings = [
            api_pb2.Binding(
                kind="Pod", namespace="bench", name=name, node_name=linux_nodes[(offset + i) % len(linux_nodes)]
            )
            for i, name in enumerate(names)
        ]
        await client.bind(bindings)

    async def create(index: int) -> None:
        nonlocal next_node
        labels = {"app": service_name(index % services)} if services else {}
        pod = make_pod(f"p{index:05d}", "bench", **labels)
        pod.pod.spec.containers[0].resources.requests.update({"cpu": "10m", "memory": "16Mi"})
        async with limit:
            begun = time.perf_counter()
            created[pod.pod.metadata.name] = begun
            await client.create(pod)
            call_latencies.append(time.perf_counter() - begun)
        if linux_nodes is not None:
            pending.append(pod.pod.metadata.name)
            if len(pending) >= 100:
                batch = pending[:]
                pending.clear()
                binds.append(asyncio.create_task(bind(batch, next_node)))
                next_node += len(batch)

    tasks = []
    for index in range(count):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(create(index)))
    await asyncio.gather(*tasks)
    if linux_nodes is not None and pending:
        binds.append(asyncio.create_task(bind(pending[:], next_node)))
    await asyncio.gather(*binds)


def _identity_env(env: dict[str, str], data_dir: Path, address: str, component: str) -> dict[str, str]:
    """``env`` plus ATOLL_CONFIG naming a client config with ``component``'s certificate."""
    config = pki.client_config(pki.pki_dir(data_dir), address, component)
    path = data_dir / f"{component}-client.yaml"
    write_client_config(config.server, path, ca=config.ca, cert=config.cert, key=config.key)
    return {**env, CONFIG_ENV: str(path)}


async def bench(args: argparse.Namespace, children: Supervisor) -> dict[str, object]:
    calibration = await measure(children)
    direct = args.bind_directly or not scheduler_available()
    data_dir = Path(tempfile.mkdtemp(prefix="atoll-bench-agent-"))
    try:
        result = await _bench(args, children, direct, data_dir)
    finally:
        children.stop_all()
        shutil.rmtree(data_dir, ignore_errors=True)
    result["calibration_echo_calls_per_s"] = round(calibration.echo_calls_per_s)
    result.update(calibration.ratios(
        rates={"pods": float(str(result.get("pods_per_s", 0.0)))},
        durations={"startup_p99": float(str(result.get("startup_p99_ms", "nan"))) / 1000},
    ))
    return result


async def _bench(args: argparse.Namespace, children: Supervisor, direct: bool, data_dir: Path) -> dict[str, object]:
    # The API server alone in `atoll up`; the scheduler in its own process, as on a real control
    # plane, so the two do not share one event loop (unless --scheduler-inside-up). Of the
    # controllers only node-ipam is needed for bare pods (each node's pod CIDR), in its own process.
    inside = args.scheduler_inside_up and not direct
    own_scheduler = () if inside else ("--no-scheduler",)
    up = start_up(
        data_dir, "--store", args.store, "--sim-nodes", "0", "--no-controllers", *own_scheduler,
        "--service-cidr", BENCH_SERVICE_CIDR, secure=args.secure,
    )
    children.adopt("atoll up", up.process, up.output)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    target: str | ClientConfig = up.address
    if args.secure:  # each process with its own identity, as `atoll up` issues them
        target = admin_config(data_dir, up.address)
        env_of = {name: _identity_env(env, data_dir, up.address, name) for name in ("scheduler", "fleet", "controller")}
    else:
        env_of = {"scheduler": env, "fleet": env, "controller": env}
    controllers = "node-ipam,endpoints" if args.services else "node-ipam"
    metrics_port = free_port()
    children.start(
        f"atoll-controller {controllers}",
        [sys.executable, "-m", "controller.main", "--server", up.address, "--controllers", controllers,
         "--cluster-cidr", BENCH_CLUSTER_CIDR, "--metrics-listen", f"127.0.0.1:{metrics_port}",
         "--log-level", "ERROR"],
        env=env_of["controller"],
    )
    if not (direct or inside):
        children.start(
            "atoll-scheduler",
            [
                sys.executable,
                "-m",
                "scheduler.main",
                "--server",
                up.address,
                "--metrics-listen",
                "127.0.0.1:0",
                "--log-level",
                "ERROR",
            ],
            env=env_of["scheduler"],
        )
    hollow = children.start(
        "atoll-agent hollow",
        [
            sys.executable,
            "-m",
            "agent.main",
            "hollow",
            "--server",
            up.address,
            "--nodes",
            str(args.nodes),
            "--lease-interval",
            str(args.lease_interval),
            "--log-level",
            "ERROR",
            *(("--no-events",) if args.no_events else ()),
        ],
        env=env_of["fleet"],
    ).process
    meter = ProcessMeter(hollow.pid)
    result: dict[str, object] = {
        "nodes": args.nodes,
        "pods": args.pods,
        "rate_target": args.rate,
        "store": args.store,
        "services": args.services,
        "binding": "direct Bind RPC" if direct else "scheduler inside atoll up" if inside else "scheduler",
        "events": not args.no_events,
        "security": "mutual TLS, authorization, audit" if args.secure else "--dev (plaintext)",
    }
    # Every process of the cluster, and this one: where the CPU goes while pods pour in.
    processes = {child.name: ProcessMeter(child.process.pid) for child in children.children
                 if child.process.poll() is None and child.process.pid != hollow.pid}
    processes["generator"] = ProcessMeter(os.getpid())
    async with Client.connect(target) as client:
        await children.guard(_measure(args, client, meter, result, direct, processes))
    if args.services:
        result.update(endpoints_controller_figures(f"http://127.0.0.1:{metrics_port}/metrics"))
    return result


def endpoints_controller_figures(url: str) -> dict[str, object]:
    """The endpoints controller's reconciles (count, errors, mean and p99 from the histogram's
    buckets) and Endpoints writes, from its process's /metrics."""
    families = scrape(url)
    label = ("controller", "endpoints")

    duration = "atoll_controller_reconcile_duration_seconds"

    def sample(family: str, suffix: str, *labels: tuple[str, str]) -> float:
        return families.get(family, {}).get((("__name__", family + suffix), *sorted(labels)), 0.0)

    count = sample(duration, "_count", label)
    total = sample(duration, "_sum", label)
    buckets = sorted(
        (float(dict(key).get("le", "inf")), value)
        for key, value in families.get(duration, {}).items()
        if dict(key).get("__name__", "").endswith("_bucket") and dict(key).get("controller") == "endpoints"
    )
    p99 = next((bound for bound, seen in buckets if seen >= 0.99 * count), float("nan")) if count else float("nan")
    writes = {
        verb: int(sample("atoll_controller_endpoints_writes", "_total", ("verb", verb)))
        for verb in ("create", "update", "delete")
    }
    return {
        "endpoints_reconciles": int(count),
        "endpoints_reconcile_errors": int(
            sample("atoll_controller_reconcile_errors", "_total", label)
        ),
        "endpoints_reconcile_mean_ms": round(total / count * 1000, 2) if count else float("nan"),
        "endpoints_reconcile_p99_ms_le": round(p99 * 1000, 1),
        "endpoints_writes_create": writes["create"],
        "endpoints_writes_update": writes["update"],
    }


async def _measure(
    args: argparse.Namespace,
    client: Client,
    meter: ProcessMeter,
    result: dict[str, object],
    direct: bool,
    processes: dict[str, ProcessMeter],
) -> dict[str, object]:
    """Phases (1)-(3) of the module docstring; adds their figures to ``result``, with the cores
    each of ``processes`` used in phase (3)."""
    began = time.perf_counter()
    names = await wait_for_nodes(client, args.nodes, args.timeout)
    result["register_s"] = round(time.perf_counter() - began, 1)
    await client.apply(kinds.by_name("Namespace").message(metadata={"name": "bench"}))
    if args.services:
        began = time.perf_counter()
        service_calls = await create_services(client, args.services)
        result["services_create_s"] = round(time.perf_counter() - began, 2)
        result["service_create_p50_ms"] = round(percentile(service_calls, 0.5) * 1000, 1)
        result["service_create_p99_ms"] = round(percentile(service_calls, 0.99) * 1000, 1)
    cpu_before = meter.cpu_seconds()
    probe = await probe_updates(client, args.heartbeat_seconds, 20)
    result["heartbeat_hollow_cores"] = round((meter.cpu_seconds() - cpu_before) / args.heartbeat_seconds, 3)
    result["api_update_p50_ms_heartbeat"] = round(percentile(probe, 0.5) * 1000, 1)
    result["api_update_p99_ms_heartbeat"] = round(percentile(probe, 0.99) * 1000, 1)
    _, revision = await client.list_all("pods", "bench")
    running: dict[str, float] = {}
    bound: dict[str, float] = {}
    created: dict[str, float] = {}
    calls: list[float] = []
    done = asyncio.Event()
    watcher = asyncio.create_task(watch_running(client, revision, running, bound, args.pods, done))
    listed: dict[str, float] = {}
    all_listed = asyncio.Event()
    _, endpoints_revision = await client.list_all("endpoints", "bench")
    endpoints_watcher = asyncio.create_task(
        watch_endpoints(client, endpoints_revision, listed, args.pods if args.services else 0, all_listed)
    )
    cpu_before, wall = meter.cpu_seconds(), time.perf_counter()
    process_cpu_before = {name: process.cpu_seconds() for name, process in processes.items()}
    linux = sorted(n for n in names if n.startswith("sim-lnx-")) if direct else None
    prober = asyncio.create_task(probe_updates(client, 1e9, 20))
    await create_pods(client, args.pods, args.rate, created, calls, linux, args.services)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), args.timeout)
    prober.cancel()
    watcher.cancel()
    elapsed = time.perf_counter() - wall
    for name, process in processes.items():
        result[f"load_cores_{name.split()[0]}"] = round((process.cpu_seconds() - process_cpu_before[name]) / elapsed, 3)
    if args.services:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_listed.wait(), args.timeout)
        to_endpoint = [listed[name] - running[name] for name in listed if name in running]
        result["listed_in_endpoints"] = len(listed)
        result["running_to_endpoint_p50_ms"] = round(percentile(to_endpoint, 0.5) * 1000, 1)
        result["running_to_endpoint_p99_ms"] = round(percentile(to_endpoint, 0.99) * 1000, 1)
        result["last_running_to_all_listed_ms"] = (
            round((max(listed.values()) - max(running.values())) * 1000, 1) if listed and running else float("nan")
        )
    endpoints_watcher.cancel()
    latencies = [running[name] - created[name] for name in running if name in created]
    to_bind = [bound[name] - created[name] for name in bound if name in created]
    to_run = [running[name] - bound[name] for name in running if name in bound]
    first = min(created.values())
    result.update(
        {
            "running": len(running),
            "pods_per_s": round(len(running) / (max(running.values()) - first), 1) if running else 0.0,
            "create_calls_per_s": round(len(calls) / (max(created.values()) - first + 1e-9), 1),
            "startup_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
            "startup_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "startup_max_ms": round(max(latencies) * 1000, 1) if latencies else float("nan"),
            "created_to_bound_p50_ms": round(percentile(to_bind, 0.5) * 1000, 1),
            "created_to_bound_p99_ms": round(percentile(to_bind, 0.99) * 1000, 1),
            "bound_to_running_p50_ms": round(percentile(to_run, 0.5) * 1000, 1),
            "bound_to_running_p99_ms": round(percentile(to_run, 0.99) * 1000, 1),
            "api_create_p50_ms_load": round(percentile(calls, 0.5) * 1000, 1),
            "api_create_p99_ms_load": round(percentile(calls, 0.99) * 1000, 1),
            "load_hollow_cores": round((meter.cpu_seconds() - cpu_before) / elapsed, 3),
            "hollow_rss_mib": round(meter.memory("VmRSS") / 2**20, 1),
            "hollow_peak_rss_mib": round(meter.memory("VmHWM") / 2**20, 1),
            "hollow_cores_per_node_heartbeat": round(
                float(str(result["heartbeat_hollow_cores"])) / args.nodes, 6
            ),
        }
    )
    result["startup_mean_ms"] = round(statistics.fmean(latencies) * 1000, 1) if latencies else float("nan")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=1000.0, help="pods created per second")
    parser.add_argument("--services", type=int, default=1000, help="Services over the pods (0: none)")
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--lease-interval", type=float, default=10.0)
    parser.add_argument("--heartbeat-seconds", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--no-events", action="store_true", help="the hollow agents record no Events")
    parser.add_argument("--bind-directly", action="store_true", help="bind with the Bind RPC, no scheduler")
    parser.add_argument(
        "--secure", action="store_true", help="`atoll up` secure (its default): mutual TLS, authorization, audit"
    )
    parser.add_argument(
        "--scheduler-inside-up", action="store_true", help="the scheduler inside `atoll up` (its default), not apart"
    )
    parser.add_argument(
        "--cpu-quota", type=parse_cores, metavar="CORES",
        help="run everything on a CFS quota of CORES cores (a slower machine; cgroup v1 cpu, root)",
    )
    args = parser.parse_args()
    isolate_environment("atoll-bench-agent-")
    try:
        with cpu_quota(args.cpu_quota), exit_on_child_death(), Supervisor() as children:
            result = asyncio.run(bench(args, children))
    except QuotaUnavailable as err:
        sys.exit(str(err))
    result["cpu_quota_cores"] = args.cpu_quota or "none"
    print(f"machine: {os.cpu_count()} cores, CPU quota {result['cpu_quota_cores']}; calibration: raw grpc.aio echo "
          f"{result['calibration_echo_calls_per_s']:,} calls/s (same run)")
    for key, value in result.items():
        print(f"  {key:36} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
