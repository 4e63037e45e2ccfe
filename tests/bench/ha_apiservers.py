"""HA benchmark: creates/s through 1, 2 and 3 API servers on one 3-member etcd cluster, etcd's own
write ceiling, and failover gaps beside etcd's bare leader election, all in one run.

Run: python -m tests.bench.ha_apiservers [--seconds 10] [--concurrency 32]

Processes: 3 etcd members and 3 `atoll up` API servers on loopback (tests/support/), plus one load
process per API server in use (this module with --load), each creating ConfigMaps through its own
server at --concurrency for --seconds. Baselines from the same run: bare etcd puts from one process
at the same concurrency (the ceiling the API servers share), and the time etcd takes to elect a
new leader after its leader is killed (the floor under any failover through it). Failover: one
client given all three servers writes while an API server is killed -9 and while the etcd leader
is; the gap is the longest stretch without an acknowledged write. With --check-perf, etcd's own
load test (`etcdctl check perf --load l`, 60 s, Debian etcd-client) reports the write throughput
the cluster sustains, etcd's ceiling by its own tool. Hermetic (no client config is read); prints
the calibration figure (calibration.py), a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from atoll.client import ApiError, Backoff, Client
from atoll.v1 import config_pb2
from controller.store.etcd import EtcdStore
from tests.bench.calibration import measure
from tests.bench.supervisor import Supervisor
from tests.support.apiserver_process import ApiServerProcess, api_servers
from tests.support.etcd_cluster import EtcdCluster, etcd_cluster


def config_map(name: str) -> config_pb2.ConfigMap:
    message = config_pb2.ConfigMap()
    message.metadata.name, message.metadata.namespace = name, "default"
    message.data["value"] = "x" * 100
    return message


async def load(server: str, prefix: str, seconds: float, concurrency: int) -> int:
    """Creates through ``server`` for ``seconds``; returns the acknowledged count."""
    done = 0
    deadline = time.monotonic() + seconds
    async with Client.connect(server) as client:

        async def worker(index: int) -> None:
            nonlocal done
            number = 0
            while time.monotonic() < deadline:
                await client.create(config_map(f"{prefix}-{index}-{number}"))
                number += 1
                done += 1

        await asyncio.gather(*(worker(index) for index in range(concurrency)))
    return done


def run_loads(servers: list[ApiServerProcess], seconds: float, concurrency: int, tag: str) -> float:
    """One load process per server at once; total creates/s."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.bench.ha_apiservers", "--load", server.address, "--prefix", f"{tag}-{index}",
             "--seconds", str(seconds), "--concurrency", str(concurrency)],
            stdout=subprocess.PIPE, text=True,
        )
        for index, server in enumerate(servers)
    ]
    total = 0
    for process in processes:
        out, _ = process.communicate(timeout=seconds + 120)
        if process.returncode != 0:
            raise RuntimeError(f"a load process failed (exit {process.returncode})")
        total += int(out.strip().splitlines()[-1])
    return total / seconds


async def bare_etcd(endpoints: list[str], seconds: float, concurrency: int) -> float:
    store = EtcdStore(endpoints)
    await store.connect()
    done = 0
    deadline = time.monotonic() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        number = 0
        while time.monotonic() < deadline:
            await store.create(f"/bench-bare/{index}/{number}", b"x" * 200)
            number += 1
            done += 1

    await asyncio.gather(*(worker(index) for index in range(concurrency)))
    await store.close()
    return done / seconds


def election_seconds(cluster: EtcdCluster) -> float:
    """Kills the leader; seconds until another member says it leads. Restarts the old leader."""
    old = cluster.leader()
    cluster.kill(old)
    started = time.monotonic()
    while True:
        try:
            if cluster.leader() != old:
                break
        except RuntimeError:
            pass
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    cluster.restart(old)
    return elapsed


async def failover_gap(addresses: str, kill: object, restart: object) -> float:
    """Longest stretch without an acknowledged create around ``kill()``, from one client given
    every server (8 writers)."""
    acked: list[float] = []
    stop = asyncio.Event()
    async with Client.connect(addresses, timeout=10.0, backoff=Backoff(attempts=30, maximum=0.5)) as client:

        async def writer(index: int) -> None:
            number = 0
            while not stop.is_set():
                try:
                    await client.create(config_map(f"gap-{time.monotonic_ns()}-{index}-{number}"))
                    acked.append(time.monotonic())
                except ApiError:
                    await asyncio.sleep(0.01)
                number += 1

        tasks = [asyncio.create_task(writer(index)) for index in range(8)]
        await asyncio.sleep(1.0)
        killed_at = time.monotonic()
        await asyncio.to_thread(kill)  # type: ignore[arg-type]
        await asyncio.sleep(5.0)
        stop.set()
        await asyncio.gather(*tasks)
        await asyncio.to_thread(restart)  # type: ignore[arg-type]
    around = sorted(at for at in acked if at >= killed_at - 0.5)
    gaps = [later - earlier for earlier, later in itertools.pairwise(around)]
    return max(gaps, default=float("nan"))


def etcd_check_perf(endpoints: list[str]) -> float | None:
    """Writes/s that `etcdctl check perf --load l` reports for the cluster (its own load test:
    60 s of puts at up to 8,000/s from 800 clients); None when etcdctl does not print a figure."""
    done = subprocess.run(
        ["etcdctl", f"--endpoints={','.join(endpoints)}", "check", "perf", "--load", "l"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    found = re.search(r"Throughput (?:too low: |is )(\d+) writes/s", done.stdout + done.stderr)
    return float(found.group(1)) if found else None


async def main(args: argparse.Namespace) -> None:
    with Supervisor() as children:
        calibration = await measure(children)
    with tempfile.TemporaryDirectory(prefix="atoll-bench-ha-") as scratch, etcd_cluster(3) as cluster:
        bare = await bare_etcd(cluster.endpoints, args.seconds, args.concurrency)
        with api_servers(cluster, Path(scratch), 3) as servers:
            rates = {n: run_loads(servers[:n], args.seconds, args.concurrency, f"n{n}") for n in (1, 2, 3)}
            addresses = ",".join(server.address for server in servers)
            server_gap = await failover_gap(addresses, servers[0].kill, servers[0].start)
            leader_gaps = []
            for _ in range(3):
                leader = cluster.leader()
                leader_gaps.append(
                    await failover_gap(addresses, lambda leader=leader: cluster.kill(leader),
                                       lambda leader=leader: cluster.restart(leader))
                )  # fmt: skip
            elections = [election_seconds(cluster) for _ in range(3)]
        check_perf = etcd_check_perf(cluster.endpoints) if args.check_perf else None
    print(calibration.line())
    print(f"{'API servers':>12} {'creates/s':>10}   (bare etcd puts/s, same concurrency: {bare:.0f})")
    for n, rate in rates.items():
        print(f"{n:>12} {rate:>10.0f}")
    print(f"failover gap, API server kill -9: {server_gap:.2f} s")
    print(f"failover gap, etcd leader kill -9: {', '.join(f'{gap:.2f}' for gap in leader_gaps)} s; "
          f"bare etcd elections: {', '.join(f'{seconds:.2f}' for seconds in elections)} s")  # fmt: skip
    if check_perf is not None:
        print(f"etcdctl check perf --load l: {check_perf:.0f} writes/s (etcd's own ceiling test)")
    print(
        json.dumps(
            {
                "bench": "ha_apiservers",
                "seconds": args.seconds,
                "concurrency": args.concurrency,
                "creates_per_s": {str(n): round(rate) for n, rate in rates.items()},
                "bare_etcd_puts_per_s": round(bare),
                "gap_apiserver_kill_s": round(server_gap, 3),
                "gap_etcd_leader_kill_s": [round(gap, 3) for gap in leader_gaps],
                "etcd_election_s": [round(seconds, 3) for seconds in elections],
                "etcd_check_perf_writes_per_s": None if check_perf is None else round(check_perf),
                "calibration": calibration.as_json(),
                **calibration.ratios(
                    rates={"creates_1": rates[1], "bare_etcd_puts": bare},
                    durations={"gap_etcd_leader_kill_max": max(leader_gaps)},
                ),
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--check-perf", action="store_true", help="also run etcdctl check perf --load l (60 s)")
    parser.add_argument("--load", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="load", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.load:
        print(asyncio.run(load(parsed.load, parsed.prefix, parsed.seconds, parsed.concurrency)))
    else:
        asyncio.run(main(parsed))
