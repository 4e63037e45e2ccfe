"""Service change -> rules programmed on a node: ``python -m tests.bench.node_rules [--services 100]
[--endpoints-per-service 10] [--changes 100] [--storm 300]``.

``atoll up --dev`` (the API server alone: no scheduler, controllers or nodes) in its own process;
in this process one real node's network programming, as ``atoll-agent --real`` runs it (its
watches, the proxier, the coalescing sync loop, the real ``nft``), programming a network namespace
the benchmark makes and removes. Services have no selector and the benchmark writes their
Endpoints itself, as the endpoints controller would (default 100 Services x 10 = 1,000 endpoints).

- change -> programmed: from the start of an Endpoints Update that replaces one address until
  the ``nft -f`` transaction holding the new address has returned (the kernel committed it);
  one change at a time, ``--changes`` of them. Target: p99 <= 1 s at 1,000 endpoints.
- raw: ``nft -f`` of the same ruleset text, run right after each change (interleaved, so
  background load hits both alike): what the kernel and nft alone cost.
- storm: ``--storm`` Endpoints updates sent back to back; how many transactions programmed them
  (the sync loop coalesces) and the time until the last one was programmed.

Needs root and nftables. Hermetic (tests/support/hermetic.py). Prints the calibration figure
(calibration.py; durations also in echo calls), a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.network.node_network import NodeNetwork, NodeNetworkConfig
from agent.network.proxy.nft import Nft
from atoll.client import Client
from atoll.clock import SystemClock
from atoll.v1 import object_pb2, service_pb2
from tests.bench.agent import percentile
from tests.bench.calibration import calibration_line, measure
from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.support.hermetic import isolate_environment
from tests.support.up_process import start_up

TARGET_P99_MS = 1000.0
NAMESPACE = "default"
CLUSTER_IPS = ipaddress.IPv4Network("10.96.0.0/16")  # atoll up's default --service-cidr
FIRST_ENDPOINT = ipaddress.IPv4Address("10.244.0.2")  # inside the default --cluster-cidr
SUBSET_ADDRESSES = 250  # atoll/validation/bounds.py allows 256 entries in a list


class RecordingNft(Nft):
    """The real ``nft``, recording when each transaction returned and what it held."""

    def __init__(self, argv: tuple[str, ...]) -> None:
        super().__init__(argv)
        self.applied: list[tuple[float, str]] = []
        self.changed = asyncio.Event()

    async def apply(self, transaction: str) -> None:
        await super().apply(transaction)
        self.applied.append((time.perf_counter(), transaction))
        self.changed.set()

    async def programmed(self, needle: str, after: int) -> float:
        """When the first transaction after the ``after``-th that holds ``needle`` returned."""
        while True:
            for done, text in self.applied[after:]:
                if needle in text:
                    return done
            self.changed.clear()
            await self.changed.wait()


@dataclass
class Fixture:
    client: Client
    nft: RecordingNft
    endpoints: list[object_pb2.Object] = field(default_factory=list)
    next_ip: int = int(FIRST_ENDPOINT)

    def fresh_ip(self) -> str:
        address = str(ipaddress.IPv4Address(self.next_ip))
        self.next_ip += 1
        return address


def _service(index: int) -> service_pb2.Service:
    service = service_pb2.Service()
    service.metadata.namespace, service.metadata.name = NAMESPACE, f"bench-{index:04d}"
    service.spec.cluster_ip = str(CLUSTER_IPS[10 + index])
    service.spec.ports.add(name="http", protocol="TCP", port=80, target_port="8080")
    return service


def _endpoints(index: int, addresses: list[str]) -> service_pb2.Endpoints:
    """Endpoints with ``addresses``, in subsets of at most SUBSET_ADDRESSES (the API's list bound)."""
    endpoints = service_pb2.Endpoints()
    endpoints.metadata.namespace, endpoints.metadata.name = NAMESPACE, f"bench-{index:04d}"
    for first in range(0, len(addresses), SUBSET_ADDRESSES):
        subset = endpoints.subsets.add()
        for address in addresses[first:first + SUBSET_ADDRESSES]:
            subset.addresses.add(ip=address)
        subset.ports.add(name="http", port=8080, protocol="TCP")
    return endpoints


async def _populate(fixture: Fixture, services: int, per_service: int) -> None:
    for index in range(services):
        await fixture.client.create(_service(index))
        created = await fixture.client.create(_endpoints(index, [fixture.fresh_ip() for _ in range(per_service)]))
        fixture.endpoints.append(created)
    last = str(ipaddress.IPv4Address(fixture.next_ip - 1))
    await fixture.nft.programmed(last, 0)


async def _change(fixture: Fixture, index: int) -> tuple[str, asyncio.Task[object_pb2.Object]]:
    """Replace the first address of Endpoints ``index``; returns the new address and the Update."""
    current = fixture.endpoints[index]
    changed = object_pb2.Object()
    changed.CopyFrom(current)
    new_ip = fixture.fresh_ip()
    changed.endpoints.subsets[0].addresses[0].ip = new_ip
    update = asyncio.create_task(fixture.client.update(changed.endpoints))
    return new_ip, update


async def _one_change(fixture: Fixture, index: int, raw: Nft) -> tuple[float, float]:
    after = len(fixture.nft.applied)
    began = time.perf_counter()
    new_ip, update = await _change(fixture, index)
    fixture.endpoints[index] = await update
    programmed = await fixture.nft.programmed(new_ip, after)
    text = fixture.nft.applied[-1][1]
    raw_began = time.perf_counter()
    await raw.apply(text)
    return programmed - began, time.perf_counter() - raw_began


async def _storm(fixture: Fixture, changes: int) -> dict[str, Any]:
    after = len(fixture.nft.applied)
    began = time.perf_counter()
    last_ip = ""
    for step in range(changes):
        index = step % len(fixture.endpoints)
        last_ip, update = await _change(fixture, index)
        fixture.endpoints[index] = await update
    sent = time.perf_counter() - began
    programmed = await fixture.nft.programmed(last_ip, after)
    await asyncio.sleep(0.5)  # transactions still under way when the last address landed
    return {"changes": changes, "sent_s": round(sent, 3), "transactions": len(fixture.nft.applied) - after,
            "last_programmed_after_s": round(programmed - began, 3)}


async def _bench(args: argparse.Namespace, children: Supervisor, data_dir: Path, netns: str) -> dict[str, Any]:
    up = start_up(data_dir, "--sim-nodes", "0", "--no-controllers", "--no-scheduler")
    children.adopt("atoll up", up.process, up.output)
    prefix = ("ip", "netns", "exec", netns)
    nft = RecordingNft((*prefix, "nft"))
    raw = Nft((*prefix, "nft"))
    async with Client.connect(up.address) as client:
        network = NodeNetwork(client, "bench-node", SystemClock(), NodeNetworkConfig(nft=nft.argv, ip=(*prefix, "ip")))
        network.proxier.nft = nft
        tasks = network.start()
        try:
            fixture = Fixture(client, nft)
            await children.guard(_populate(fixture, args.services, args.endpoints_per_service))
            programmed, raw_times = [], []
            for step in range(args.changes):
                took, raw_took = await children.guard(_one_change(fixture, step % args.services, raw))
                programmed.append(took)
                raw_times.append(raw_took)
            storm = await children.guard(_storm(fixture, args.storm)) if args.storm else None
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    p99 = percentile(programmed, 0.99) * 1000
    return {
        "services": args.services,
        "endpoints": args.services * args.endpoints_per_service,
        "ruleset_bytes": len(nft.applied[-1][1]),
        "changes": args.changes,
        "programmed_p50_ms": round(statistics.median(programmed) * 1000, 1),
        "programmed_p99_ms": round(p99, 1),
        "raw_nft_p50_ms": round(statistics.median(raw_times) * 1000, 1),
        "raw_nft_p99_ms": round(percentile(raw_times, 0.99) * 1000, 1),
        "storm": storm,
        "target_p99_ms": TARGET_P99_MS,
        "ok": p99 <= TARGET_P99_MS,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"benchmark": "node_rules"}
    with exit_on_child_death(), Supervisor() as children:
        calibration = await measure(children)
        results["calibration"] = calibration.as_json()
        netns = f"atoll-bench-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", netns], check=True)
        data_dir = Path(tempfile.mkdtemp(prefix="atoll-bench-rules-"))
        try:
            results.update(await _bench(args, children, data_dir, netns))
        finally:
            children.stop_all()
            subprocess.run(["ip", "netns", "del", netns], check=False)
            shutil.rmtree(data_dir, ignore_errors=True)
    results.update(calibration.ratios(durations={
        "programmed_p99": results["programmed_p99_ms"] / 1000, "raw_nft_p99": results["raw_nft_p99_ms"] / 1000}))
    return results


def _table(results: dict[str, Any]) -> None:
    print(calibration_line(results["calibration"]))
    print(f"{results['services']} Services, {results['endpoints']} endpoints, "
          f"ruleset {results['ruleset_bytes']:,} bytes")
    print(f"{'measure':<36}{'p50':>10}{'p99':>10}{'target':>12}{'ok':>5}")
    print(f"{'Endpoints change -> programmed':<36}{results['programmed_p50_ms']:>7.1f} ms"
          f"{results['programmed_p99_ms']:>7.1f} ms{'<= 1000 ms':>12}{'yes' if results['ok'] else 'NO':>5}")
    print(f"{'raw nft -f of the same ruleset':<36}{results['raw_nft_p50_ms']:>7.1f} ms"
          f"{results['raw_nft_p99_ms']:>7.1f} ms")
    storm = results.get("storm")
    if storm:
        print(f"storm: {storm['changes']} changes sent in {storm['sent_s']} s -> {storm['transactions']} transactions, "
              f"last programmed {storm['last_programmed_after_s']} s after the first was sent")


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=100, help="Services (default 100)")
    parser.add_argument("--endpoints-per-service", type=int, default=10, help="addresses per Service (default 10)")
    parser.add_argument("--changes", type=int, default=100, help="changes measured one at a time (default 100)")
    parser.add_argument("--storm", type=int, default=300, help="changes sent back to back (0 to skip; default 300)")
    return parser


if __name__ == "__main__":
    isolate_environment("atoll-bench-node-rules-")
    parsed = options().parse_args()
    outcome = asyncio.run(main(parsed))
    _table(outcome)
    print(json.dumps(outcome))
