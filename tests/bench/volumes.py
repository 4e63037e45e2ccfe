"""Volume benchmark: provisioning and attach latency of the local storage class.

Run: python -m tests.bench.volumes [--vms 200] [--quick]

Processes: `atoll up --store memory --sim-nodes 0` (API server, scheduler, controllers with
volume-binding, the local and shared classes) and this one, which runs one large node agent with
the simulated hypervisor (nothing of QEMU: the VM itself starts in no time) and a real local
volume dir in a temporary directory: every volume's directory is really made there.

Phases, each over --vms VirtualMachines created at once (none bound: the scheduler places them):
1. baseline: VMs without disks, created -> Running (the same path minus volumes);
2. local: each VM with a disk from its own claim of the local class (WaitForFirstConsumer): per
   VM, claim created -> Bound (placement, the controller seeing it, the volume made and bound:
   "provisioning") and Bound -> VM Running (the node noticing, resolving the claim and making the
   volume's directory, then the simulated boot: "attach"), created -> Running in total, and that
   total minus the baseline's ("volume_overhead": what volumes add to a start).
Hermetic (tests/support/hermetic.py); fails at once if `atoll up` dies. Prints the calibration
figure (calibration.py), a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from agent.config import AgentConfig
from agent.registration import NodeProfile
from agent.run import run_agent
from agent.volumes.claims import VolumeDirs
from atoll import storage
from atoll.client import Client
from atoll.v1 import storage_pb2, virtualmachine_pb2
from atoll.watch_events import ADDED, MODIFIED
from tests.bench.agent import percentile
from tests.bench.calibration import measure
from tests.bench.report import run_and_report
from tests.bench.supervisor import Supervisor
from tests.support.up_process import start_up

NODE = "bench-volumes"


def bench_vm(name: str, claim: str = "") -> virtualmachine_pb2.VirtualMachine:
    vm = virtualmachine_pb2.VirtualMachine()
    vm.metadata.name, vm.metadata.namespace = name, "default"
    vm.spec.vcpus, vm.spec.memory = 1, "64Mi"
    vm.spec.boot.kernel = "/var/lib/atoll/images/vmlinux"
    if claim:
        vm.spec.disks.add(name="data", persistent_volume_claim=claim)
    return vm


def bench_claim(name: str) -> storage_pb2.PersistentVolumeClaim:
    claim = storage_pb2.PersistentVolumeClaim()
    claim.metadata.name, claim.metadata.namespace = name, "default"
    claim.spec.access_modes.append(storage.READ_WRITE_ONCE)
    claim.spec.resources.requests[storage.STORAGE] = "1Gi"
    return claim


class Stopwatch:
    """When each VM ran and each claim was bound, from watches (seconds, perf_counter)."""

    def __init__(self) -> None:
        self.running: dict[str, float] = {}
        self.bound: dict[str, float] = {}

    async def follow(self, client: Client) -> None:
        await asyncio.gather(self._vms(client), self._claims(client))

    async def _vms(self, client: Client) -> None:
        async for event in client.watch("VirtualMachine", "default", resource_version=0):
            vm = event.object.virtual_machine
            if event.type in (ADDED, MODIFIED) and vm.status.phase == "Running":
                self.running.setdefault(vm.metadata.name, time.perf_counter())

    async def _claims(self, client: Client) -> None:
        async for event in client.watch("PersistentVolumeClaim", "default", resource_version=0):
            claim = event.object.persistent_volume_claim
            if event.type in (ADDED, MODIFIED) and claim.status.phase == storage.CLAIM_BOUND:
                self.bound.setdefault(claim.metadata.name, time.perf_counter())


async def wait_all(names: list[str], seen: dict[str, float], timeout: float = 600.0) -> None:
    deadline = time.perf_counter() + timeout
    while not all(name in seen for name in names):
        if time.perf_counter() > deadline:
            missing = [name for name in names if name not in seen]
            raise TimeoutError(f"{len(missing)} never got there, e.g. {missing[:3]}")
        await asyncio.sleep(0.05)


def ms(values: list[float], fraction: float) -> float:
    return round(percentile(values, fraction) * 1000, 1)


async def phases(client: Client, count: int, volume_dir: Path) -> dict[str, float | int]:
    watch = Stopwatch()
    follower = asyncio.create_task(watch.follow(client))
    try:
        created: dict[str, float] = {}
        baseline = [f"plain-{i:04d}" for i in range(count)]
        for name in baseline:
            created[name] = time.perf_counter()
            await client.create(bench_vm(name))
        await wait_all(baseline, watch.running)
        plain = [watch.running[n] - created[n] for n in baseline]
        local = [f"local-{i:04d}" for i in range(count)]
        for name in local:
            created[name] = time.perf_counter()
            await client.create(bench_claim(name))
            await client.create(bench_vm(name, claim=name))
        await wait_all(local, watch.running)
        provision = [watch.bound[n] - created[n] for n in local]
        attach = [watch.running[n] - watch.bound[n] for n in local]
        total = [watch.running[n] - created[n] for n in local]
    finally:
        follower.cancel()
    made = sum(1 for entry in volume_dir.iterdir() if entry.is_dir())
    return {
        "vms": count,
        "volume_dirs_made": made,
        "baseline_start_p50_ms": ms(plain, 0.5),
        "baseline_start_p99_ms": ms(plain, 0.99),
        "local_provision_p50_ms": ms(provision, 0.5),
        "local_provision_p99_ms": ms(provision, 0.99),
        "local_attach_p50_ms": ms(attach, 0.5),
        "local_attach_p99_ms": ms(attach, 0.99),
        "local_start_p50_ms": ms(total, 0.5),
        "local_start_p99_ms": ms(total, 0.99),
        "volume_overhead_p50_ms": round(ms(total, 0.5) - ms(plain, 0.5), 1),
        "cpus": os.cpu_count() or 0,
    }


async def run(args: argparse.Namespace, children: Supervisor) -> dict[str, float | int | None]:
    calibration = await measure(children)
    with tempfile.TemporaryDirectory() as data_dir:
        up = start_up(Path(data_dir) / "up", "--store", "memory", "--sim-nodes", "0", "--no-metrics")
        children.adopt("atoll up", up.process, up.output)
        volume_dir = Path(data_dir) / "local-volumes"
        stop = asyncio.Event()
        config = AgentConfig(volume_dirs=VolumeDirs(volume_dir))
        room = {storage.LOCAL_CAPACITY_RESOURCE: str(1 << 50)}  # capacity is not what is measured
        profile = NodeProfile(name=NODE, cpu="4096", memory="16Ti", pods="100000", extended_resources=room)
        agent = asyncio.create_task(
            run_agent(up.address, NODE, ["sim-hypervisor"], stop, state_dir=Path(data_dir) / "node", config=config,
                      logs_listen=None, profile=profile)
        )
        client = Client.connect(up.address, timeout=120)
        try:
            result = await children.guard(phases(client, args.vms, volume_dir))
        finally:
            stop.set()
            await agent
            await client.close()
            children.stop_all()
    return {
        **result,
        "calibration_echo_calls_per_s": round(calibration.echo_calls_per_s),
        **calibration.ratios(durations={
            "local_provision_p50": float(result["local_provision_p50_ms"]) / 1000,
            "local_attach_p50": float(result["local_attach_p50_ms"]) / 1000,
            "baseline_start_p50": float(result["baseline_start_p50_ms"]) / 1000,
        }),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 VMs")
    args = parser.parse_args()
    if args.quick:
        args.vms = 20
    run_and_report("atoll-bench-volumes-", lambda children: run(args, children))


if __name__ == "__main__":
    main()
