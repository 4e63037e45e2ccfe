"""Scheduler benchmark, scheduler_perf-shaped: ``python -m tests.bench.scheduler --case NAME``.

--mode decisions (a): pure in-process decisions/s. Objects are decoded first (as the informer
would); the clock covers queueing, filtering, scoring, assuming and preemption planning.
Preemption victims are deleted from the snapshot as soon as they are chosen (as their watch
DELETED events would do), so preemptors are placed on their next attempt.
--mode e2e (b): bound/s through a real in-process API server (see scheduler_e2e.py).

Prints a table for people and, last, one JSON line for tools.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from scheduler.core import Placement, Scheduler, Unschedulable
from scheduler.framework.profile import DEFAULT_PROFILE, build_framework, load_profile
from scheduler.queue import ClusterEvent, SchedulingQueue
from scheduler.snapshot import ClusterSnapshot
from tests.unit.scheduler.fleet import node_facts, workload_infos

CASES = Path(__file__).with_name("scheduler_cases.yaml")


def run_decisions(case: dict[str, Any], profile_path: str | None, batch: int) -> dict[str, Any]:
    profile = load_profile(profile_path) if profile_path else DEFAULT_PROFILE
    snapshot = ClusterSnapshot(node_capacity=8192, workload_capacity=32768)
    for facts in node_facts(case["nodes"]):
        snapshot.upsert_node(facts)
    for index, info in enumerate(workload_infos(case.get("bound", []), prefix="b")):
        snapshot.assume(info, snapshot.nodes.names[index % snapshot.nodes.count])
    workloads = workload_infos(case["workloads"])
    queue = SchedulingQueue()
    scheduler = Scheduler(build_framework(profile), snapshot, queue)
    placed = unschedulable = preemptions = decisions = 0
    latencies: list[float] = []
    start = time.perf_counter()
    for info in workloads:
        queue.add(info)
    now = 0.0
    while True:
        t0 = time.perf_counter()
        outcomes = scheduler.next_batch(now, batch)
        if not outcomes:
            break
        latencies.append((time.perf_counter() - t0) / len(outcomes))
        for outcome in outcomes:
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
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 3) if latencies else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.scheduler", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--config", default=str(CASES), help="cases YAML (default: %(default)s)")
    parser.add_argument("--case", action="append", help="case name (repeatable; default: all)")
    parser.add_argument("--mode", choices=("decisions", "e2e"), default="decisions")
    parser.add_argument("--profile", help="scheduler profile YAML (default: built-in default)")
    parser.add_argument("--batch", type=int, default=256, help="workloads popped per cycle")
    args = parser.parse_args(argv)
    cases = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))["cases"]
    names = args.case or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(cases)}", file=sys.stderr)
        return 2
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        if args.mode == "decisions":
            results[name] = run_decisions(cases[name], args.profile, args.batch)
        else:
            from tests.bench.scheduler_e2e import run_e2e

            results[name] = run_e2e(cases[name], args.profile)
    columns = list(next(iter(results.values())))
    print(f"{'case':<16}" + "".join(f"{c:>16}" for c in columns))
    for name, row in results.items():
        print(f"{name:<16}" + "".join(f"{row[c]!s:>16}" for c in columns))
    print(json.dumps({"benchmark": "scheduler", "mode": args.mode, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
