"""Scheduler benchmark, scheduler_perf-shaped: ``python -m tests.bench.scheduler --case NAME``.

--mode decisions (a): pure in-process decisions/s. Objects are decoded first (as the informer
would); the clock covers queueing, filtering, scoring, assuming and preemption planning.
Preemption victims are deleted from the snapshot as soon as they are chosen (as their watch
DELETED events would do), so preemptors are placed on their next attempt.
--mode e2e (b): bound/s end to end. An in-process API server (memory store) gets the nodes
and every workload first; then ``atoll-scheduler`` starts as a separate process and the clock
runs until every workload is bound (as scheduler_perf does). ``steady_bound_per_s`` counts from
the first binding, i.e. without the scheduler's start-up and initial list. The benchmark fails at
once, with its exit status and last lines, if the scheduler process dies.

Hermetic (tests/support/hermetic.py: the user's client config is never read, by this process or
the scheduler). First measures the calibration figure (tests/bench/calibration.py: raw grpc.aio
echo calls/s on this machine, this run); each headline figure is also given per echo call/s.
Prints a table for people and, last, one JSON line for tools.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from allinone.storage_classes import default_storage_classes
from scheduler.core import Placement, Scheduler, Unschedulable
from scheduler.framework.profile import DEFAULT_PROFILE, build_framework, load_profile
from scheduler.plugins import REGISTRY
from scheduler.queue import ClusterEvent, SchedulingQueue
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo
from tests.bench.calibration import measure
from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.support.hermetic import isolate_environment
from tests.unit.scheduler.fleet import claims_of_groups, node_facts, workload_infos

CASES = Path(__file__).with_name("scheduler_cases.yaml")


def run_decisions(
    case: dict[str, Any], profile_path: str | None, batch: int,
    prepare: Callable[[WorkloadInfo], WorkloadInfo] | None = None,
) -> dict[str, Any]:
    """Decide the case's workloads; ``prepare`` (timed with the rest) turns each decoded workload
    into what is queued (tests/bench/images.py attaches image platforms there)."""
    profile = load_profile(profile_path) if profile_path else DEFAULT_PROFILE
    snapshot = ClusterSnapshot()  # grown as the nodes arrive, as in the scheduling loop
    for facts in node_facts(case["nodes"]):
        snapshot.upsert_node(facts)
    for index, info in enumerate(workload_infos(case.get("bound", []), prefix="b")):
        snapshot.assume(info, snapshot.nodes.names[index % snapshot.nodes.count])
    for storage_class in default_storage_classes():
        snapshot.volumes.upsert_class(storage_class)
    for claim in claims_of_groups(case["workloads"]):
        snapshot.volumes.upsert_claim(claim)
    workloads = workload_infos(case["workloads"])
    queue = SchedulingQueue()
    scheduler = Scheduler(build_framework(profile, REGISTRY), snapshot, queue)
    placed = unschedulable = preemptions = decisions = 0
    latencies: list[float] = []
    start = time.perf_counter()
    for info in workloads:
        queue.add(prepare(info) if prepare else info)
    now = 0.0  # virtual time: jumps to the next backoff expiry when nothing else is ready
    while True:
        batch_infos = queue.pop_batch(now, batch)
        if not batch_infos:
            wakeup = queue.next_wakeup()
            if wakeup is None:
                break
            now = wakeup
            continue
        for info in batch_infos:
            t0 = time.perf_counter()
            outcome = scheduler.decide(info, now)
            latencies.append(time.perf_counter() - t0)
            decisions += 1
            if isinstance(outcome, Placement):
                placed += 1
                scheduler.bound(outcome)
            elif isinstance(outcome, Unschedulable):
                if outcome.preemption is None:
                    unschedulable += 1
                    continue
                preemptions += 1
                for victim in outcome.preemption.victims:
                    snapshot.remove_workload(victim.key)
                queue.on_event(ClusterEvent.WORKLOAD_DELETED, now)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "nodes": snapshot.nodes.count,
        "workloads": len(workloads),
        "decisions": decisions,
        "placed": placed,
        "unschedulable": unschedulable,
        "preemptions": preemptions,
        "seconds": round(elapsed, 3),
        "decisions_per_s": round(decisions / elapsed, 1),
        "placed_per_s": round(placed / elapsed, 1),
        "p99_decision_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 3) if latencies else 0.0,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


async def run_e2e(
    case: dict[str, Any], profile_path: str | None, batch: int, children: Supervisor, timeout: float
) -> dict[str, Any]:
    from atoll import kinds
    from atoll.v1 import namespace_pb2
    from controller.store.memory import MemoryStore
    from tests.support.cluster import running_cluster
    from tests.unit.scheduler.fleet import node_builders, workload_builders

    if case.get("bound"):
        raise SystemExit("e2e mode does not support cases with pre-bound workloads yet")
    async with running_cluster(MemoryStore()) as cluster:
        client = cluster.client
        namespace = namespace_pb2.Namespace()
        namespace.metadata.name = "bench"
        await client.create(namespace)
        objects = [b.build() for b in node_builders(case["nodes"])]
        workloads = [b.build() for b in workload_builders(case["workloads"])]
        for chunk in range(0, len(objects) + len(workloads), 256):
            await asyncio.gather(*(client.create(o) for o in (objects + workloads)[chunk : chunk + 256]))
        expected = {(type(w).__name__, w.metadata.name) for w in workloads}
        bound: set[tuple[str, str]] = set()
        first_bind = 0.0
        done = asyncio.Event()

        async def count(kind: str) -> None:
            nonlocal first_bind
            async for event in client.list_then_watch(kind, "bench"):
                if event.type in ("ADDED", "MODIFIED") and kinds.unwrap(event.object).spec.node_name:
                    if not first_bind:
                        first_bind = time.perf_counter()
                    bound.add((kind, kinds.unwrap(event.object).metadata.name))
                    if len(bound) >= len(expected) - unschedulable_budget:
                        done.set()

        unschedulable_budget = int(case.get("unschedulable", 0))  # workloads the case expects to fit nowhere
        command = [
            sys.executable,
            "-m",
            "scheduler.main",
            "--server",
            cluster.api.address,
            "--batch-size",
            str(batch),
        ] + (["--profile", profile_path] if profile_path else [])
        start = time.perf_counter()
        scheduler = children.start("atoll-scheduler", command)
        watchers = [asyncio.create_task(count(kind)) for kind in ("Pod", "VirtualMachine")]
        try:
            await children.guard(asyncio.wait_for(done.wait(), timeout=timeout))
        finally:
            elapsed = time.perf_counter() - start
            for task in watchers:
                task.cancel()
            peak_rss_mib = _peak_rss_mib(scheduler.process.pid)
            children.stop(scheduler)
        return {
            "nodes": len(objects),
            "workloads": len(workloads),
            "bound": len(bound),
            "seconds": round(elapsed, 3),
            "bound_per_s": round(len(bound) / elapsed, 1),
            "steady_bound_per_s": round(len(bound) / (elapsed - (first_bind - start)), 1) if first_bind else 0.0,
            "scheduler_rss_mib": peak_rss_mib,
        }


def _peak_rss_mib(pid: int) -> int:
    """Peak resident memory (VmHWM) of a live process, in MiB; 0 where /proc is unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(CASES), help="cases YAML (default: %(default)s)")
    parser.add_argument("--case", action="append", help="case name (repeatable; default: all)")
    parser.add_argument("--mode", choices=("decisions", "e2e"), default="decisions")
    parser.add_argument("--profile", help="scheduler profile YAML (default: built-in default)")
    parser.add_argument("--batch", type=int, default=256, help="workloads popped per cycle")
    parser.add_argument("--timeout", type=float, default=600.0, help="e2e: seconds to wait for the bindings")
    args = parser.parse_args(argv)
    isolate_environment("atoll-bench-scheduler-")
    cases = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))["cases"]
    names = args.case or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(cases)}", file=sys.stderr)
        return 2
    with exit_on_child_death(), Supervisor() as children:
        calibration = asyncio.run(measure(children))
        results: dict[str, dict[str, Any]] = {}
        for name in names:
            if args.mode == "decisions":
                results[name] = run_decisions(cases[name], args.profile, args.batch)
                results[name].update(calibration.ratios({"decisions": results[name]["decisions_per_s"]}))
            else:
                results[name] = asyncio.run(run_e2e(cases[name], args.profile, args.batch, children, args.timeout))
                results[name].update(calibration.ratios({"bound": results[name]["bound_per_s"]}))
    print(calibration.line())
    columns = list(next(iter(results.values())))
    widths = [max(len(c), 8) + 2 for c in columns]
    print(f"{'case':<16}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for name, row in results.items():
        print(f"{name:<16}" + "".join(f"{row[c]!s:>{w}}" for c, w in zip(columns, widths, strict=True)))
    print(json.dumps({
        "benchmark": "scheduler", "mode": args.mode, "calibration": calibration.as_json(), "results": results,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
