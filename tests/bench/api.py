"""API benchmark: raw gRPC ceiling vs. API Create with sqlite and etcd, and watch delivery latency.

Run: python -m tests.bench.api [--seconds 5] [--concurrency 32] [--watchers 100]

Each server runs in its own process (as in production), the load generator in this one. Prints a
table, then one JSON line: echo_calls_per_s (a), create_sqlite_per_s (b), create_etcd_per_s (c),
watch p50/p99 ms (d), and the ratios b/a and c/a. Targets on a 2-core machine: b/a >= 0.6,
watch p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from atoll.client import Client
from atoll.v1 import api_pb2, object_pb2
from tests.bench.echo_server import METHOD
from tests.support.etcd_server import etcd_server
from tests.support.objects import make_pod
from tests.support.up_process import start_up

# The API server alone: no scheduler, controllers or simulated nodes adding their own load.
API_ONLY = ("--no-scheduler", "--no-controllers", "--sim-nodes", "0")


async def _drive(call: Callable[[int], Awaitable[object]], seconds: float, concurrency: int) -> float:
    """Calls ``call(i)`` from ``concurrency`` tasks for ``seconds``; returns completed calls per second."""
    done = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call(next(counter))
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def _request_size() -> int:
    return len(api_pb2.CreateRequest(object=make_pod("bench-000000")).SerializeToString())


async def bench_echo(seconds: float, concurrency: int) -> float:
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.echo_server"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split()[1])
        payload = os.urandom(_request_size())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            echo = channel.unary_unary(METHOD)
            await echo(payload)
            return await _drive(lambda _: echo(payload), seconds, concurrency)
    finally:
        process.kill()
        process.wait()


async def bench_create(address: str, seconds: float, concurrency: int, prefix: str) -> float:
    template = make_pod(f"{prefix}-warmup")

    def pod(index: int) -> object_pb2.Object:
        obj = object_pb2.Object()
        obj.CopyFrom(template)
        obj.pod.metadata.name = f"{prefix}-{index:07d}"
        return obj

    async with Client.connect(address) as client:
        await client.create(template)
        return await _drive(lambda i: client.create(pod(i)), seconds, concurrency)


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
    results: dict[str, float | str | int | None] = {
        "machine": f"{platform.node()} {os.cpu_count()} cpus {platform.machine()} Python {platform.python_version()}",
        "request_bytes": _request_size(),
        "concurrency": args.concurrency,
    }
    echo = await bench_echo(args.seconds, args.concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        up = start_up(Path(tmp) / "sqlite", *API_ONLY)
        try:
            sqlite_rate = await bench_create(up.address, args.seconds, args.concurrency, "c")
            p50, p99 = await bench_watch(up.address, args.watchers, args.watch_creates, args.watch_rate)
        finally:
            up.kill(signal.SIGTERM)
        etcd_rate: float | None = None
        if shutil.which("etcd"):
            with etcd_server() as endpoint:
                up = start_up(Path(tmp) / "etcd-up", "--store", f"etcd://{endpoint}", *API_ONLY)
                try:
                    etcd_rate = await bench_create(up.address, args.seconds, args.concurrency, "e")
                finally:
                    up.kill(signal.SIGTERM)
    results.update(
        echo_calls_per_s=round(echo),
        create_sqlite_per_s=round(sqlite_rate),
        create_etcd_per_s=round(etcd_rate) if etcd_rate else None,
        watchers=args.watchers,
        watch_p50_ms=round(p50, 2),
        watch_p99_ms=round(p99, 2),
        ratio_sqlite_to_echo=round(sqlite_rate / echo, 3),
        ratio_etcd_to_echo=round(etcd_rate / echo, 3) if etcd_rate else None,
    )
    rows = [
        ("(a) raw grpc.aio echo, unary calls/s", f"{echo:,.0f}"),
        (
            "(b) API Create, sqlite store, calls/s",
            f"{sqlite_rate:,.0f}  (b/a = {sqlite_rate / echo:.2f}, target >= 0.6)",
        ),
        (
            "(c) API Create, etcd store, calls/s",
            f"{etcd_rate:,.0f}  (c/a = {etcd_rate / echo:.2f})" if etcd_rate else "etcd not installed",
        ),
        (f"(d) watch delivery, {args.watchers} watchers, p50 ms", f"{p50:.2f}"),
        (f"(d) watch delivery, {args.watchers} watchers, p99 ms", f"{p99:.2f}  (target <= 50)"),
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
