"""API benchmark: raw gRPC ceiling vs. API Create with sqlite and etcd, and watch delivery latency.

Run: python -m tests.bench.api [--seconds 5] [--concurrency 32] [--watchers 100]

Each server runs in its own process (as in production), the load generator in this one. Prints a
table, then one JSON line: echo_calls_per_s (a), create_sqlite_per_s (b), create_etcd_per_s (c),
watch p50/p99 ms (d), handler_floor_per_s (e), and the ratios b/a, c/a and e/a. (e) is the API
server's own gRPC handler stack with a Create that stores nothing (handler_floor_server.py): the
ceiling of any Create here, so (b)'s distance to it is what validation, the store and the watch
cache cost, and (e)'s distance to (a) what decoding, metrics and the response cost. Targets
(issue #22, same-run ratios): b/a >= 0.75 (median of 5 runs), watch p99 <= 10 ms with 100 watchers.
(d) runs 100 watchers of one kind in this process while Creates go out at a steady --watch-rate;
each latency is from just before the Create is sent (so it includes the write itself) to that
watcher's receipt of the ADDED event.
(a) is also the calibration figure every benchmark prints (calibration.py).
Hermetic (tests/support/hermetic.py); fails at once if a server process dies (supervisor.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from atoll.client import Client
from atoll.v1 import object_pb2
from tests.bench.calibration import drive, measure, port_of, request_size
from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.support.etcd_server import etcd_server
from tests.support.hermetic import isolate_environment
from tests.support.objects import make_pod
from tests.support.up_process import start_up

# The API server alone: no scheduler, controllers or simulated nodes adding their own load.
API_ONLY = ("--no-scheduler", "--no-controllers", "--sim-nodes", "0")


async def bench_create(address: str, seconds: float, concurrency: int, prefix: str) -> float:
    template = make_pod(f"{prefix}-warmup")

    def pod(index: int) -> object_pb2.Object:
        obj = object_pb2.Object()
        obj.CopyFrom(template)
        obj.pod.metadata.name = f"{prefix}-{index:07d}"
        return obj

    async with Client.connect(address) as client:
        await client.create(template)
        return await drive(lambda i: client.create(pod(i)), seconds, concurrency)


async def bench_watch(address: str, watchers: int, creates: int, rate: float) -> tuple[float, float]:
    """p50/p99 ms from just before Create to each watcher's receipt of the ADDED event."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    async with Client.connect(address) as client:
        revision = (await client.list("pods", limit=1)).resource_version
        ready = 0
        all_ready = asyncio.Event()

        async def watcher() -> None:
            nonlocal ready
            seen = 0
            stream = client.watch("pods", namespace="bench", resource_version=revision)
            ready += 1
            if ready == watchers:
                all_ready.set()
            async for event in stream:
                if event.type == "ADDED":
                    latencies.append(time.perf_counter() - sent[event.object.pod.metadata.name])
                    seen += 1
                    if seen == creates:
                        return

        namespace_object = object_pb2.Object()
        namespace_object.namespace.metadata.name = "bench"
        await client.create(namespace_object)
        tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
        await all_ready.wait()
        await asyncio.sleep(1.0)  # let every stream reach the server
        for index in range(creates):
            name = f"w-{index:05d}"
            sent[name] = time.perf_counter()
            await client.create(make_pod(name, namespace="bench"))
            await asyncio.sleep(1.0 / rate)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    latencies.sort()
    return latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--watch-creates", type=int, default=200)
    parser.add_argument("--watch-rate", type=float, default=100.0, help="creates per second during the watch test")
    args = parser.parse_args()
    isolate_environment("atoll-bench-api-")
    results: dict[str, object] = {
        "machine": f"{platform.node()} {os.cpu_count()} cpus {platform.machine()} Python {platform.python_version()}",
        "request_bytes": request_size(),
        "concurrency": args.concurrency,
    }
    with exit_on_child_death(), Supervisor() as children, tempfile.TemporaryDirectory() as tmp:
        # (a) is the calibration figure, with this benchmark's own duration and concurrency.
        calibration = await measure(children, args.seconds, args.concurrency)
        echo = calibration.echo_calls_per_s
        floor = children.start("handler floor server", [sys.executable, "-m", "tests.bench.handler_floor_server"])
        floor_address = f"127.0.0.1:{await children.guard(port_of(floor))}"
        floor_rate = await children.guard(bench_create(floor_address, args.seconds, args.concurrency, "f"))
        children.stop(floor)
        up = start_up(Path(tmp) / "sqlite", *API_ONLY)
        children.adopt("atoll up (sqlite)", up.process, up.output)
        sqlite_rate = await children.guard(bench_create(up.address, args.seconds, args.concurrency, "c"))
        p50, p99 = await children.guard(bench_watch(up.address, args.watchers, args.watch_creates, args.watch_rate))
        children.stop_all()
        etcd_rate: float | None = None
        if shutil.which("etcd"):
            with etcd_server() as endpoint:
                up = start_up(Path(tmp) / "etcd-up", "--store", f"etcd://{endpoint}", *API_ONLY)
                children.adopt("atoll up (etcd)", up.process, up.output)
                etcd_rate = await children.guard(bench_create(up.address, args.seconds, args.concurrency, "e"))
                children.stop_all()
    results.update(
        calibration=calibration.as_json(),
        echo_calls_per_s=round(echo),
        create_sqlite_per_s=round(sqlite_rate),
        create_etcd_per_s=round(etcd_rate) if etcd_rate else None,
        watchers=args.watchers,
        watch_p50_ms=round(p50, 2),
        watch_p99_ms=round(p99, 2),
        ratio_sqlite_to_echo=round(sqlite_rate / echo, 3),
        ratio_etcd_to_echo=round(etcd_rate / echo, 3) if etcd_rate else None,
        handler_floor_per_s=round(floor_rate),
        ratio_floor_to_echo=round(floor_rate / echo, 3),
        **calibration.ratios(durations={"watch_p99": p99 / 1000}),
    )
    rows = [
        ("(a) raw grpc.aio echo, unary calls/s (calibration)", f"{echo:,.0f}"),
        (
            "(b) API Create, sqlite store, calls/s",
            f"{sqlite_rate:,.0f}  (b/a = {sqlite_rate / echo:.2f}, target >= 0.75)",
        ),
        (
            "(c) API Create, etcd store, calls/s",
            f"{etcd_rate:,.0f}  (c/a = {etcd_rate / echo:.2f})" if etcd_rate else "etcd not installed",
        ),
        (f"(d) watch delivery, {args.watchers} watchers, p50 ms", f"{p50:.2f}"),
        (
            f"(d) watch delivery, {args.watchers} watchers, p99 ms",
            f"{p99:.2f}  (target <= 10; {calibration.in_echo_calls(p99 / 1000):,.0f} echo calls)",
        ),
        (
            "(e) the API's handler stack, a Create storing nothing, calls/s",
            f"{floor_rate:,.0f}  (e/a = {floor_rate / echo:.2f}: the ceiling of (b))",
        ),
    ]
    width = max(len(label) for label, _ in rows)
    print(
        f"machine: {results['machine']}; request {results['request_bytes']} bytes; {args.concurrency} calls in flight"
    )
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
