"""API server CPU per write: the server process's CPU (user + system, every thread, from /proc) per
Create, Update, UpdateStatus and BatchUpdateStatus item, over gRPC from this process, beside the
raw grpc.aio echo server's CPU per call measured the same way in the same run.

Run: python -m tests.bench.api_cpu [--seconds 5] [--concurrency 32] [--batch 50]

Throughput ratios (tests.bench.api) move with whatever else the cores run; the CPU a process spends
per call moves much less, so this is the figure to compare changes to the write path by, run
against run. The server is ``atoll up --dev`` serving the API alone (no scheduler, controllers or
nodes) on sqlite, as tests.bench.api's (b). Update and UpdateStatus go round the first 2,000 Pods
the Create phase made (Update changes a label, UpdateStatus the status message); BatchUpdateStatus
sends ``--batch`` of them per call, and its figure is per item. Each ``*_us`` figure is also given
per echo call's CPU (``*_per_echo_cpu``), which compares across machines.
The calibration figure (calibration.py) is the echo's calls per second in the same phase.
Hermetic (tests/support/hermetic.py); fails at once if a server process dies (supervisor.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from atoll.client import Client
from atoll.v1 import object_pb2
from tests.bench.agent import ProcessMeter
from tests.bench.api import API_ONLY
from tests.bench.calibration import drive, echo_server
from tests.bench.report import run_and_report
from tests.bench.supervisor import Supervisor
from tests.support.objects import make_pod
from tests.support.up_process import start_up

POOL = 2000  # Pods that Update and UpdateStatus go round


async def metered(meter: ProcessMeter, call: Callable[[int], Awaitable[object]], seconds: float,
                  concurrency: int) -> tuple[float, float]:
    """(calls per second, the process's CPU seconds per call) while ``call`` is driven."""
    cpu, started = meter.cpu_seconds(), time.perf_counter()
    rate = await drive(call, seconds, concurrency)
    calls = rate * (time.perf_counter() - started)
    return rate, (meter.cpu_seconds() - cpu) / calls


async def echo_phase(children: Supervisor, args: argparse.Namespace) -> tuple[float, float]:
    async with echo_server(children) as (echo, pid):
        return await children.guard(metered(ProcessMeter(pid), echo, args.seconds, args.concurrency))


def _name(index: int) -> str:
    return f"p-{index:07d}"


def pod(template: object_pb2.Object, name: str) -> object_pb2.Object:
    obj = object_pb2.Object()
    obj.CopyFrom(template)
    obj.pod.metadata.name = name
    return obj


async def write_phases(address: str, meter: ProcessMeter, args: argparse.Namespace,
                       children: Supervisor) -> dict[str, tuple[float, float]]:
    template = make_pod("warm-up")
    created: set[int] = set()

    def create(client: Client, index: int) -> Awaitable[object]:
        created.add(index)
        return client.create(pod(template, _name(index)))

    def labelled(index: int) -> object_pb2.Object:
        obj = pod(template, _name(index % POOL))
        obj.pod.metadata.labels["round"] = str(index)
        return obj

    def with_status(index: int) -> object_pb2.Object:
        obj = pod(template, _name(index % POOL))
        obj.pod.status.phase = "Running"
        obj.pod.status.message = f"write {index}"
        return obj

    async with Client.connect(address) as client:
        await client.create(template)
        phases: dict[str, tuple[float, float]] = {}
        run = {"seconds": args.seconds, "concurrency": args.concurrency}
        phases["create"] = await children.guard(metered(meter, lambda index: create(client, index), **run))
        missing = [pod(template, _name(index)) for index in range(POOL) if index not in created]
        for start in range(0, len(missing), 500):  # a machine too slow to create the pool in time
            await client.batch_create(missing[start : start + 500])
        phases["update"] = await children.guard(metered(meter, lambda index: client.update(labelled(index)), **run))
        phases["update_status"] = await children.guard(
            metered(meter, lambda index: client.update_status(with_status(index)), **run))
        batch = args.batch
        rate, per_call = await children.guard(metered(
            meter,
            lambda index: client.batch_update_status([with_status(index * batch + item) for item in range(batch)]),
            **run,
        ))
        phases["batch_update_status_item"] = (rate * batch, per_call / batch)
    return phases


async def run(args: argparse.Namespace, children: Supervisor) -> dict[str, Any]:
    echo_rate, echo_cpu = await echo_phase(children, args)
    with tempfile.TemporaryDirectory() as tmp:
        up = start_up(Path(tmp) / "sqlite", *API_ONLY)
        children.adopt("atoll up (sqlite)", up.process, up.output)
        phases = await write_phases(up.address, ProcessMeter(up.process.pid), args, children)
        children.stop_all()
    results: dict[str, Any] = {
        "benchmark": "api_cpu",
        "concurrency": args.concurrency,
        "calibration_echo_calls_per_s": round(echo_rate),
        "echo_cpu_us_per_call": round(echo_cpu * 1e6, 1),
    }
    for name, (rate, cpu) in phases.items():
        results[f"{name}_per_s"] = round(rate)
        results[f"{name}_cpu_us"] = round(cpu * 1e6, 1)
        results[f"{name}_cpu_per_echo_cpu"] = round(cpu / echo_cpu, 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per phase")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight")
    parser.add_argument("--batch", type=int, default=50, help="objects per BatchUpdateStatus call")
    args = parser.parse_args()
    if args.seconds <= 0 or args.concurrency < 1 or not 1 <= args.batch <= POOL:
        parser.error(f"--seconds must be > 0, --concurrency >= 1, --batch within 1-{POOL}")
    run_and_report("atoll-bench-api-cpu-", lambda children: run(args, children))


if __name__ == "__main__":
    main()
