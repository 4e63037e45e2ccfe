"""HTTP/JSON API benchmark: the same `atoll up` (sqlite, API server only) over gRPC and over HTTP in
the same run, beside a bare aiohttp echo (the raw HTTP ceiling) and the grpc.aio echo calibration.

Run: python -m tests.bench.http_api [--seconds 5] [--concurrency 32] [--watchers 100] [--workloads 10000]

Figures: Create/s and Get/s over each protocol in alternating rounds (target HTTP >= 0.7 of gRPC,
the median of the rounds' ratios), List latency of ``--list-size`` pods (p50, and the first HTTP
list before the server holds its items' JSON), watch delivery p50/p99 to ``--watchers`` watchers of
each protocol, and with Chromium installed the console's first paint and time to a usable workloads table with
``--workloads`` pods (target <= 2 s). Prints a table, then one JSON line.
Hermetic (tests/support/hermetic.py); fails at once if a server process dies (supervisor.py).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from atoll.client import Client
from atoll.manifest import to_manifest
from atoll.v1 import object_pb2
from tests.bench.calibration import drive, measure, port_of
from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.support.console_browser import free_port
from tests.support.hermetic import isolate_environment
from tests.support.objects import make_pod
from tests.support.up_process import start_up

API_ONLY = ("--no-scheduler", "--no-controllers", "--sim-nodes", "0")
API = "/apis/atoll.dev/v1"


def _pod(prefix: str, index: int, namespace: str = "default") -> object_pb2.Object:
    return make_pod(f"{prefix}-{index:07d}", namespace=namespace)


async def http_echo_rate(children: Supervisor, seconds: float, concurrency: int) -> float:
    server = children.start("http-echo-server", [sys.executable, "-m", "tests.bench.http_echo_server"])
    try:
        port = await children.guard(port_of(server))
        body = json.dumps(to_manifest(make_pod("bench-000000"))).encode()
        async with _session(f"http://127.0.0.1:{port}", concurrency) as http:

            async def echo(_: int) -> None:
                async with http.post("/echo", data=body, headers={"Content-Type": "application/json"}) as response:
                    await response.read()

            await echo(0)
            return await children.guard(drive(echo, seconds, concurrency))
    finally:
        children.stop(server)


def _session(base: str, concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=base, connector=aiohttp.TCPConnector(limit=concurrency))


@dataclass
class Rates:
    """Calls/s per round of each measure; rounds alternate gRPC and HTTP so both see the same load."""

    rounds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, rate: float) -> None:
        self.rounds.setdefault(name, []).append(rate)

    def median(self, name: str) -> float:
        return _median(self.rounds[name])

    def ratio(self, http: str, grpc: str) -> float:
        """The median of each round's HTTP/gRPC ratio (the two ran back to back)."""
        return _median([h / g for h, g in zip(self.rounds[http], self.rounds[grpc], strict=True)])


async def interleaved_rates(address: str, base: str, seconds: float, concurrency: int, rounds: int) -> Rates:
    """Create/s and Get/s over gRPC and HTTP: ``rounds`` rounds of ``seconds / rounds`` each, gRPC
    then HTTP for every measure, so a change in the machine's load hits both alike."""
    rates = Rates()
    slice_seconds = seconds / rounds
    async with Client.connect(address) as client, _session(base, concurrency) as http:
        # The HTTP body is built from a template by renaming, as the gRPC side copies a template
        # message: the load generator shares the machine and should cost the server nothing.
        template = json.dumps(to_manifest(_pod("h", 0)))
        headers = {"Content-Type": "application/json"}
        names = itertools.count(1)

        async def http_create(_: int) -> None:
            body = template.replace("h-0000000", f"h-{next(names):07d}").encode()
            async with http.post(f"{API}/namespaces/default/pods", data=body, headers=headers) as response:
                await response.read()
                assert response.status == 201, response.status

        async def http_get(_: int) -> None:
            async with http.get(f"{API}/namespaces/default/pods/h-0000000") as response:
                await response.read()
                assert response.status == 200, response.status

        grpc_names = itertools.count(1)
        measures: list[tuple[str, Callable[[int], Awaitable[object]]]] = [
            ("grpc_create", lambda _: client.create(_pod("g", next(grpc_names)))),
            ("http_create", http_create),
            ("grpc_get", lambda _: client.get("pod", "g-0000000")),
            ("http_get", http_get),
        ]
        await client.create(_pod("g", 0))
        async with http.post(f"{API}/namespaces/default/pods", data=template.encode(), headers=headers) as response:
            assert response.status == 201, response.status  # h-0000000, the one every HTTP Get reads
        for _ in range(rounds):
            for name, call in measures:
                rates.add(name, await drive(call, slice_seconds, concurrency))
    return rates


async def list_latencies(address: str, base: str, size: int, rounds: int) -> tuple[float, float, float]:
    """ms of listing ``size`` pods in one namespace (one page): p50 over gRPC, p50 over HTTP, and
    the first HTTP list (its items' JSON not yet cached on the server)."""
    async with Client.connect(address) as client:
        namespace = object_pb2.Object()
        namespace.namespace.metadata.name = "listing"
        await client.create(namespace)
        for start in range(0, size, 1000):
            await client.batch_create([_pod("l", i, "listing") for i in range(start, min(size, start + 1000))])
        grpc_times = [await _timed(lambda: client.list("pods", namespace="listing", limit=size)) for _ in range(rounds)]
    async with _session(base, 1) as http:

        async def http_list() -> None:
            async with http.get(f"{API}/namespaces/listing/pods", params={"limit": str(size)}) as response:
                document = json.loads(await response.read())
                assert len(document["items"]) == size

        http_times = [await _timed(http_list) for _ in range(rounds)]
    return _median(grpc_times), _median(http_times), http_times[0]


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


async def watch_latencies(
    address: str, subscribe: Callable[[int], AsyncIterator[str]], watchers: int, creates: int, rate: float, ns: str
) -> tuple[float, float]:
    """p50/p99 ms from just before a Create to each watcher's receipt of its ADDED event."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    async with Client.connect(address) as client:
        namespace = object_pb2.Object()
        namespace.namespace.metadata.name = ns
        await client.create(namespace)
        revision = (await client.list("pods", namespace=ns, limit=1)).resource_version

        async def watcher() -> None:
            seen = 0
            async for name in subscribe(revision):
                latencies.append(time.perf_counter() - sent[name])
                seen += 1
                if seen == creates:
                    return

        tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
        await asyncio.sleep(2.0)  # every stream reaches the server
        for index in range(creates):
            name = f"w-{index:05d}"
            sent[name] = time.perf_counter()
            await client.create(make_pod(name, namespace=ns))
            await asyncio.sleep(1.0 / rate)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=180)
    latencies.sort()
    return latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000


def grpc_subscriber(client: Client, ns: str) -> Callable[[int], AsyncIterator[str]]:
    async def subscribe(revision: int) -> AsyncIterator[str]:
        async for event in client.watch("pods", namespace=ns, resource_version=revision):
            if event.type == "ADDED":
                yield event.object.pod.metadata.name

    return subscribe


def http_subscriber(http: aiohttp.ClientSession, ns: str) -> Callable[[int], AsyncIterator[str]]:
    async def subscribe(revision: int) -> AsyncIterator[str]:
        params = {"watch": "true", "resourceVersion": str(revision)}
        async with http.get(f"{API}/namespaces/{ns}/pods", params=params, timeout=aiohttp.ClientTimeout()) as response:
            async for line in response.content:
                event = json.loads(line)
                if event["type"] == "ADDED":
                    yield event["object"]["metadata"]["name"]

    return subscribe


async def console_times(address: str, base: str, workloads: int) -> tuple[float, float] | None:
    """(first contentful paint ms, ms until the workloads table shows ``workloads`` rows) in
    headless Chromium; None without Chromium."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return None
    async with Client.connect(address) as client:
        namespace = object_pb2.Object()
        namespace.namespace.metadata.name = "console"
        await client.create(namespace)
        for start in range(0, workloads, 1000):
            await client.batch_create([_pod("c", i, "console") for i in range(start, min(workloads, start + 1000))])
    return await asyncio.to_thread(_browser_times, base, workloads)


def _browser_times(base: str, total: int) -> tuple[float, float]:
    from selenium.webdriver.common.by import By

    from tests.support.console_browser import chromium, until

    with chromium() as browser:
        browser.get(base + "/")  # --dev: any token logs in
        until(lambda: browser.find_element(By.ID, "token"), "the login form").send_keys("bench")
        browser.execute_script("sessionStorage.setItem('atoll.token', 'bench')")
        browser.get("about:blank")  # the next load starts from nothing, logged in from session storage
        started = time.perf_counter()
        browser.get(base + "/#/workloads")
        shown = f"{total} shown"
        until(lambda: browser.find_element(By.ID, "workloads-shown").text == shown, f"the table ({shown})", 120, 0.01)
        usable = (time.perf_counter() - started) * 1000
        paint = browser.execute_script(
            "const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : null;"
        )
    return float(paint or 0.0), usable


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5, help="alternating gRPC/HTTP rounds the seconds are split in")
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--watch-creates", type=int, default=100)
    parser.add_argument("--watch-rate", type=float, default=50.0)
    parser.add_argument("--list-size", type=int, default=1000)
    parser.add_argument("--workloads", type=int, default=10_000)
    args = parser.parse_args()
    isolate_environment("atoll-bench-http-")
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {os.cpu_count()} cpus {platform.machine()} Python {platform.python_version()}",
        "concurrency": args.concurrency,
    }
    with exit_on_child_death(), Supervisor() as children, tempfile.TemporaryDirectory() as tmp:
        calibration = await measure(children, args.seconds, args.concurrency)
        http_echo = await http_echo_rate(children, args.seconds, args.concurrency)
        port = free_port()
        up = start_up(Path(tmp) / "sqlite", *API_ONLY, "--http-listen", f"127.0.0.1:{port}", "--no-metrics")
        children.adopt("atoll up (sqlite)", up.process, up.output)
        base = f"http://127.0.0.1:{port}"
        rates = await children.guard(
            interleaved_rates(up.address, base, args.seconds, args.concurrency, args.rounds)
        )
        grpc_list, http_list, http_first_list = await children.guard(
            list_latencies(up.address, base, args.list_size, 9)
        )
        async with Client.connect(up.address) as client:
            grpc_watch = await children.guard(
                watch_latencies(up.address, grpc_subscriber(client, "wg"), args.watchers, args.watch_creates,
                                args.watch_rate, "wg")
            )  # fmt: skip
        async with _session(base, args.watchers + 1) as http:
            http_watch = await children.guard(
                watch_latencies(up.address, http_subscriber(http, "wh"), args.watchers, args.watch_creates,
                                args.watch_rate, "wh")
            )  # fmt: skip
        children.stop_all()
        # The console on a server holding exactly --workloads workloads.
        port = free_port()
        up = start_up(Path(tmp) / "console", *API_ONLY, "--http-listen", f"127.0.0.1:{port}", "--no-metrics")
        children.adopt("atoll up (console)", up.process, up.output)
        console = await children.guard(console_times(up.address, f"http://127.0.0.1:{port}", args.workloads))
        children.stop_all()
    grpc_create, http_create = rates.median("grpc_create"), rates.median("http_create")
    grpc_get, http_get = rates.median("grpc_get"), rates.median("http_get")
    create_ratio, get_ratio = rates.ratio("http_create", "grpc_create"), rates.ratio("http_get", "grpc_get")
    results.update(
        calibration=calibration.as_json(),
        grpc_echo_calls_per_s=round(calibration.echo_calls_per_s),
        http_echo_calls_per_s=round(http_echo),
        grpc_create_per_s=round(grpc_create),
        http_create_per_s=round(http_create),
        http_to_grpc_create=round(create_ratio, 3),
        grpc_get_per_s=round(grpc_get),
        http_get_per_s=round(http_get),
        http_to_grpc_get=round(get_ratio, 3),
        rounds=args.rounds,
        create_rounds={name: [round(rate) for rate in rates.rounds[name]] for name in ("grpc_create", "http_create")},
        list_size=args.list_size,
        grpc_list_p50_ms=round(grpc_list, 2),
        http_list_p50_ms=round(http_list, 2),
        http_first_list_ms=round(http_first_list, 2),
        watchers=args.watchers,
        grpc_watch_p50_ms=round(grpc_watch[0], 2),
        grpc_watch_p99_ms=round(grpc_watch[1], 2),
        http_watch_p50_ms=round(http_watch[0], 2),
        http_watch_p99_ms=round(http_watch[1], 2),
        console_workloads=args.workloads if console else None,
        console_first_paint_ms=round(console[0], 1) if console else None,
        console_usable_table_ms=round(console[1], 1) if console else None,
        **calibration.ratios(rates={"http_create": http_create}, durations={"http_watch_p99": http_watch[1] / 1000}),
    )
    rows = [
        ("(a) raw grpc.aio echo, calls/s (calibration)", f"{calibration.echo_calls_per_s:,.0f}"),
        ("(b) raw aiohttp echo, calls/s", f"{http_echo:,.0f}"),
        (
            "Create/s  gRPC | HTTP",
            f"{grpc_create:,.0f} | {http_create:,.0f}  (HTTP/gRPC {create_ratio:.2f}, median of {args.rounds} "
            "interleaved rounds; target >= 0.7)",
        ),
        ("Get/s     gRPC | HTTP", f"{grpc_get:,.0f} | {http_get:,.0f}  (HTTP/gRPC {get_ratio:.2f})"),
        (
            f"List of {args.list_size} pods, p50 ms  gRPC | HTTP",
            f"{grpc_list:.1f} | {http_list:.1f}  (first HTTP list, JSON not cached yet: {http_first_list:.1f})",
        ),
        (f"Watch to {args.watchers} watchers, p50/p99 ms  gRPC", f"{grpc_watch[0]:.1f} / {grpc_watch[1]:.1f}"),
        (f"Watch to {args.watchers} watchers, p50/p99 ms  HTTP", f"{http_watch[0]:.1f} / {http_watch[1]:.1f}"),
        (
            f"Console, {args.workloads} workloads: first paint | usable table, ms",
            f"{console[0]:.0f} | {console[1]:.0f}  (target <= 2000)" if console else "chromium not installed",
        ),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"machine: {results['machine']}; {args.concurrency} calls in flight")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
