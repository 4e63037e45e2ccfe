"""Orchestration overhead of real runtimes through the whole system:
``python -m tests.bench.runtimes_api [--containers N] [--vms N]``.

``atoll up --real`` (API server, scheduler, controllers, this host as a real node) in its own
process; this process creates workloads through the API and times until a watch sees them Running:

- container: create a Pod (busybox ``sleep``) -> Running, vs a raw ``runc run --detach`` of the
  equivalent bundle. p50 of N (default 20); target: overhead <= +150 ms.
- VM: create a VirtualMachine (direct kernel boot; Running is reported once the boot marker is on
  the console) -> Running, vs a raw qemu boot of the same kernel and initramfs to the same marker.
  Median of N (default 5); target: ratio <= 1.1.

Raw and API runs alternate so background noise hits both alike; each workload is deleted and
gone before the next run starts, and every VM boot starts ``--vm-settle`` seconds after the
previous VM ended (tests.bench.runtimes.VM_SETTLE_SECONDS says why). Needs root, runc, qemu,
busybox-static and the cached kernel (scripts/install_runtime_deps.sh). Hermetic
(tests/support/hermetic.py); fails at once if `atoll up` dies (supervisor.py). Prints the
calibration figure (calibration.py; each time also in echo calls), a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.host.acceleration import detect
from atoll import kinds
from atoll.client import Client
from atoll.images import ImageStore, image_dir_for
from atoll.v1 import object_pb2
from atoll.watch_events import DELETED
from tests.bench.calibration import calibration_line, measure
from tests.bench.runtimes import (
    CONTAINER_TARGET_MS,
    IMAGE,
    VM_TARGET_RATIO,
    options,
    prepare_raw_bundle,
    raw_container,
    raw_vm,
    remove_bench_cgroups,
    settled,
)
from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.e2e import artifacts
from tests.e2e.conftest import BASE_CMDLINE
from tests.support.hermetic import isolate_environment
from tests.support.netns import NETNS_DIR, scratch_netns
from tests.support.up_process import start_up

BOOT_MARKER_ANNOTATION = "qemu.atoll.dev/boot-marker"


def _pod(name: str, node: str) -> object_pb2.Object:
    obj = object_pb2.Object()
    pod = obj.pod
    pod.metadata.name, pod.metadata.namespace = name, "default"
    pod.spec.scheduling.node_selector["atoll.dev/hostname"] = node
    container = pod.spec.containers.add(name="main", image=IMAGE)
    container.command.extend(["sleep", "60"])
    pod.spec.termination_grace_period_seconds = 0
    return obj


def _vm(name: str, node: str, kernel: Path, initramfs: Path) -> object_pb2.Object:
    obj = object_pb2.Object()
    vm = obj.virtual_machine
    vm.metadata.name, vm.metadata.namespace = name, "default"
    vm.metadata.annotations[BOOT_MARKER_ANNOTATION] = artifacts.MARKER
    vm.spec.vcpus, vm.spec.memory = 1, "256Mi"
    vm.spec.boot.kernel, vm.spec.boot.initrd, vm.spec.boot.cmdline = str(kernel), str(initramfs), BASE_CMDLINE
    vm.spec.scheduling.node_selector["atoll.dev/hostname"] = node
    vm.spec.run_strategy = "Manual"
    vm.spec.termination_grace_period_seconds = 0
    return obj


async def _until_running(client: Client, kind: str, name: str, revision: int) -> None:
    async for event in client.watch(kind, "default", field_selector=f"metadata.name={name}", resource_version=revision):
        message = kinds.unwrap(event.object)
        if message.status.phase == "Running":
            return
        if message.status.phase == "Failed":
            raise SystemExit(f"{kind}/{name} failed: {message.status.message or message.status.reason}")


async def _until_gone(client: Client, kind: str, name: str, revision: int) -> None:
    async for event in client.watch(kind, "default", field_selector=f"metadata.name={name}", resource_version=revision):
        if event.type == DELETED:
            return


async def _through_api(client: Client, kind: str, obj: object_pb2.Object) -> float:
    """Seconds from create to a watch seeing the workload Running. Then deletes it and returns
    only once it is gone, so its teardown neither competes with the next run for the CPUs nor
    holds the node's resources: on a 2-CPU node (1.9 allocatable) a terminating 1-vCPU VM leaves
    no room for the next one, which the scheduler then retries only after its 1 s backoff (the
    driver benchmark likewise awaits ``destroy`` between runs)."""
    name = kinds.unwrap(obj).metadata.name
    began = time.perf_counter()
    revision = kinds.unwrap(await client.create(obj)).metadata.resource_version
    await asyncio.wait_for(_until_running(client, kind, name, revision - 1), 180)
    elapsed = time.perf_counter() - began
    deleted = await client.delete(kind, name)
    if not deleted.deleted:
        pending = kinds.unwrap(deleted.object).metadata.resource_version
        await asyncio.wait_for(_until_gone(client, kind, name, pending), 60)
    return elapsed


async def bench(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    node = socket.gethostname()
    data_dir = scratch / "data"
    bundle, driver, _ = await prepare_raw_bundle(scratch)
    await driver.close()
    rootfs = artifacts.busybox_rootfs(scratch / "api-rootfs", Path(shutil.which("busybox") or "busybox"))
    ImageStore(image_dir_for(data_dir, node)).import_path(rootfs, IMAGE)
    with exit_on_child_death(), Supervisor() as children, scratch_netns("atoll-bench") as netns:
        calibration = await measure(children)
        vm_files = ("--vm-image-dir", str(scratch), "--vm-image-dir", str(artifacts.kernel_cache_dir()))
        # The node's pod network in a namespace of the benchmark's own, not on the host's interfaces.
        up = start_up(data_dir, "--real", "--sim-nodes", "0", "--node-netns", str(NETNS_DIR / netns), *vm_files)
        children.adopt("atoll up --real", up.process, up.output)
        results = await children.guard(_measure(args, scratch, node, up.address, bundle))
    results["calibration"] = calibration.as_json()
    if "container" in results:
        api_p50_s = results["container"]["api_p50_ms"] / 1000
        results["container"].update(calibration.ratios(durations={"api_p50": api_p50_s}))
    if "vm" in results:
        results["vm"].update(calibration.ratios(durations={"api_median": results["vm"]["api_median_s"]}))
    return results


async def _measure(args: argparse.Namespace, scratch: Path, node: str, address: str, bundle: Path) -> dict[str, Any]:
    """The alternating raw and through-the-API runs of the module docstring."""
    results: dict[str, Any] = {"benchmark": "runtimes_api", "node": node}
    async with Client.connect(address) as client:
        await _wait_for_node(client, node)
        if args.containers:
            api, raw = [], []
            for index in range(args.containers):
                if index % 2:
                    raw.append(await raw_container(scratch / "raw-runc", bundle, index))
                api.append(await _through_api(client, "pod", _pod(f"bench-{index}", node)))
                if not index % 2:
                    raw.append(await raw_container(scratch / "raw-runc", bundle, index))
            remove_bench_cgroups()
            api_ms, raw_ms = statistics.median(api) * 1000, statistics.median(raw) * 1000
            results["container"] = {
                "api_p50_ms": round(api_ms, 1), "raw_p50_ms": round(raw_ms, 1),
                "overhead_ms": round(api_ms - raw_ms, 1), "target_overhead_ms": CONTAINER_TARGET_MS,
                "ok": api_ms - raw_ms <= CONTAINER_TARGET_MS, "runs": args.containers,
            }  # fmt: skip
        if args.vms:
            kernel = artifacts.debian_kernel()
            busybox = Path(shutil.which("busybox") or "busybox")
            initramfs = artifacts.build_initramfs(scratch / "initrd.cpio", busybox, kernel)
            acceleration, why = await detect(shutil.which("qemu-system-x86_64") or "qemu-system-x86_64")
            if acceleration is None:
                raise SystemExit(f"qemu unusable: {why}")
            api, raw = [], []
            for index in range(args.vms):
                if index % 2:
                    await settled(args.vm_settle)
                    raw.append(await raw_vm(kernel, initramfs, acceleration))
                vm = _vm(f"bench-vm-{index}", node, kernel.image, initramfs)
                await settled(args.vm_settle)
                api.append(await _through_api(client, "vm", vm))
                if not index % 2:
                    await settled(args.vm_settle)
                    raw.append(await raw_vm(kernel, initramfs, acceleration))
            api_s, raw_s = statistics.median(api), statistics.median(raw)
            results["vm"] = {
                "api_median_s": round(api_s, 3), "raw_median_s": round(raw_s, 3), "ratio": round(api_s / raw_s, 3),
                "target_ratio": VM_TARGET_RATIO, "ok": api_s / raw_s <= VM_TARGET_RATIO, "runs": args.vms,
                "accel": acceleration.accel, "settle_s": args.vm_settle, "api_runs_s": [round(x, 3) for x in api],
                "raw_runs_s": [round(x, 3) for x in raw],
            }  # fmt: skip
    return results


async def _wait_for_node(client: Client, node: str) -> None:
    for _ in range(300):
        items, _ = await client.list_all("node")
        if any(item.node.metadata.name == node for item in items):
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"node {node} did not register")


def _table(results: dict[str, Any]) -> None:
    print(calibration_line(results["calibration"]))
    print(f"{'workload':<10}{'through API':>14}{'raw':>14}{'overhead':>14}{'target':>12}{'ok':>6}")
    if "container" in results:
        c = results["container"]
        print(f"{'container':<10}{c['api_p50_ms']:>11.1f} ms{c['raw_p50_ms']:>11.1f} ms"
              f"{c['overhead_ms']:>+11.1f} ms{'<= +150 ms':>12}{'yes' if c['ok'] else 'NO':>6}")  # fmt: skip
    if "vm" in results:
        v = results["vm"]
        print(f"{'vm':<10}{v['api_median_s']:>12.2f} s{v['raw_median_s']:>12.2f} s"
              f"{v['ratio']:>12.3f} x{'<= 1.1 x':>12}{'yes' if v['ok'] else 'NO':>6}")  # fmt: skip


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="atoll-bench-api-") as scratch:
        return await bench(args, Path(scratch))


if __name__ == "__main__":
    isolate_environment("atoll-bench-runtimes-api-")
    outcome = asyncio.run(main(options(__doc__.split("\n")[0]).parse_args()))
    _table(outcome)
    print(json.dumps(outcome))
