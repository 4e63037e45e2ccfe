"""Migration benchmark: `atoll store migrate` of a 5,000-node cluster's store from sqlite to a
3-member etcd cluster on loopback, verified.

Run: python -m tests.bench.store_migrate [--nodes 5000] [--pods-per-node 10]

The source is written straight into a fresh sqlite store (what the API would have stored: Nodes,
their Leases, Pods bound to them, each encoded as the API server encodes it, the built-in
namespaces), one key per write, so its revision equals its key count. Beside the migration, the
same run measures a bare etcd write rate (one key per put, 64 in flight: the migration's own
pattern) as the baseline. Prints the calibration figure (calibration.py), a table, then one JSON
line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from atoll.kinds import by_name
from atoll.v1 import lease_pb2, node_pb2, pod_pb2
from controller.apiserver import codec
from controller.store.etcd import EtcdStore
from controller.store.factory import SQLITE_FILE_NAME
from controller.store.sqlite import SqliteStore
from controller.storeops.migrate import IN_FLIGHT, migrate
from tests.bench.calibration import measure
from tests.bench.supervisor import Supervisor
from tests.support.etcd_cluster import etcd_cluster

BASELINE_WRITES = 10_000


def node(index: int) -> node_pb2.Node:
    message = node_pb2.Node()
    message.metadata.name = f"node-{index:05d}"
    message.metadata.uid = f"uid-node-{index}"
    message.metadata.labels.update({"kubernetes.io/os": "linux", "zone": f"z{index % 3}"})
    message.status.capacity.update({"cpu": "32", "memory": "128Gi", "pods": "110"})
    message.status.allocatable.update({"cpu": "31", "memory": "120Gi", "pods": "110"})
    return message


def lease(index: int) -> lease_pb2.Lease:
    message = lease_pb2.Lease()
    message.metadata.name, message.metadata.namespace = f"node-{index:05d}", "atoll-node-lease"
    message.spec.holder_identity = f"node-{index:05d}"
    message.spec.lease_duration_seconds = 40
    return message


def pod(node_index: int, number: int) -> pod_pb2.Pod:
    message = pod_pb2.Pod()
    message.metadata.name, message.metadata.namespace = f"web-{node_index:05d}-{number}", "default"
    message.metadata.uid = f"uid-pod-{node_index}-{number}"
    message.metadata.labels["app"] = "web"
    container = message.spec.containers.add()
    container.name, container.image = "web", "registry.example/web:1.0"
    container.resources.requests.update({"cpu": "100m", "memory": "128Mi"})
    message.spec.node_name = f"node-{node_index:05d}"
    return message


async def build_source(data_dir: Path, nodes: int, pods_per_node: int) -> int:
    store = SqliteStore(data_dir / SQLITE_FILE_NAME)
    writes = []
    for index in range(nodes):
        writes.append((by_name("Node").key("", node(index).metadata.name), codec.encode(node(index))))
        lease_message = lease(index)
        lease_key = by_name("Lease").key("atoll-node-lease", lease_message.metadata.name)
        writes.append((lease_key, codec.encode(lease_message)))
        for number in range(pods_per_node):
            pod_message = pod(index, number)
            writes.append((by_name("Pod").key("default", pod_message.metadata.name), codec.encode(pod_message)))
    semaphore = asyncio.Semaphore(256)

    async def one(key: str, value: bytes) -> None:
        async with semaphore:
            await store.create(key, value)

    await asyncio.gather(*(one(key, value) for key, value in writes))
    revision = await store.current_revision()
    await store.close()
    return revision


async def etcd_baseline(endpoints: list[str]) -> float:
    store = EtcdStore(endpoints)
    await store.connect()
    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def one(index: int) -> None:
        async with semaphore:
            await store.create(f"/bench-baseline/{index}", b"x" * 200)

    started = time.monotonic()
    await asyncio.gather(*(one(index) for index in range(BASELINE_WRITES)))
    elapsed = time.monotonic() - started
    await store.close()
    return BASELINE_WRITES / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods-per-node", type=int, default=10)
    args = parser.parse_args()
    with Supervisor() as children:
        calibration = await measure(children)
    with tempfile.TemporaryDirectory(prefix="atoll-bench-migrate-") as scratch:
        data = Path(scratch) / "data"
        data.mkdir()
        started = time.monotonic()
        source_revision = await build_source(data, args.nodes, args.pods_per_node)
        build_seconds = time.monotonic() - started
        with etcd_cluster(3) as baseline_cluster:
            baseline = await etcd_baseline(baseline_cluster.endpoints)
        with etcd_cluster(3) as cluster:
            started = time.monotonic()
            report = await migrate(data, cluster.endpoints, progress=lambda _line: None)
            seconds = time.monotonic() - started
    rate = (report.keys + report.padded) / seconds
    print(calibration.line())
    print(f"{'keys':>10} {'padded':>8} {'seconds':>8} {'writes/s':>9} {'bare etcd writes/s':>19}")
    print(f"{report.keys:>10} {report.padded:>8} {seconds:>8.1f} {rate:>9.0f} {baseline:>19.0f}")
    print(
        json.dumps(
            {
                "bench": "store_migrate",
                "nodes": args.nodes,
                "keys": report.keys,
                "by_kind": report.by_kind,
                "source_revision": source_revision,
                "padded_writes": report.padded,
                "seconds": round(seconds, 2),
                "writes_per_s": round(rate),
                "bare_etcd_writes_per_s": round(baseline),
                "source_build_seconds": round(build_seconds, 2),
                "calibration": calibration.as_json(),
                **calibration.ratios(rates={"writes": rate, "bare_etcd_writes": baseline}),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
