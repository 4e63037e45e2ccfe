"""Real-runtime overhead benchmark: ``python -m tests.bench.runtimes [--containers N] [--vms N]``.

Same machine, same run, raw and driven runs interleaved so background noise hits both alike:

- container: ``OciDriver.start`` until the container runs (image resolve, overlay root, bundle,
  shim, ``runc create`` + ``start``) vs a raw ``runc run --detach`` of the same bundle config on
  the image's rootfs. p50 of N (default 20); target: overhead <= +150 ms.
- VM: ``QemuDriver.start`` until the boot marker is in the console (QEMU daemonized, QMP,
  console following) vs a raw ``qemu-system-x86_64`` of the same kernel, initramfs and command
  line printing the console on stdout, until the same marker. Median of N (default 5); target:
  ratio <= 1.1. Every boot, raw or driven, starts ``--vm-settle`` seconds after the previous
  VM ended (see VM_SETTLE_SECONDS).

This measures the driver layer; an API-level apply adds the API server, scheduler and agent
sync on top. Needs root, runc, qemu, busybox-static and the cached kernel
(scripts/install_runtime_deps.sh). Hermetic (tests/support/hermetic.py). Prints the calibration
figure (calibration.py; each time also in echo calls), a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.proc import run_command
from agent.drivers.qemu import QemuDriver, QemuSettings
from agent.host.acceleration import Acceleration
from atoll.images import ImageStore
from tests.bench.calibration import calibration_line, measure
from tests.bench.supervisor import Supervisor
from tests.e2e import artifacts
from tests.e2e.conftest import BASE_CMDLINE, container, vm
from tests.support.hermetic import isolate_environment

CONTAINER_TARGET_MS = 150.0
VM_TARGET_RATIO = 1.1
# Why every VM boot waits this long first: on a host that is itself a VM with free page reporting
# (virtio-balloon, Firecracker), memory a QEMU frees is handed back to the hypervisor about 2 s
# later and must be faulted in again by the next guest. A boot that starts sooner reuses it and is
# ~0.3 s faster (TCG here: 1.62 s vs 1.94 s, all of it QEMU system time), so back-to-back boots
# alternate fast/slow and the interleaving, not the software, decided which side got the fast
# ones. After a fixed settle every boot starts from the same state. 0 on hosts without it.
VM_SETTLE_SECONDS = 3.0
IMAGE = "busybox:bench"


async def _driver_container(driver: OciDriver, index: int) -> float:
    task_id = f"b{index}:main"
    began = time.perf_counter()
    await driver.start(container(task_id, "sleep", "60", image=IMAGE))
    elapsed = time.perf_counter() - began
    await driver.destroy(task_id, force=True)
    return elapsed


async def raw_container(runc_root: Path, bundle: Path, index: int) -> float:
    container_id = f"raw{index}"
    began = time.perf_counter()
    # The detached container inherits runc's stdio: /dev/null, so nothing waits on a pipe.
    process = await asyncio.create_subprocess_exec(
        "runc",
        "--root",
        str(runc_root),
        "run",
        "--detach",
        "--bundle",
        str(bundle),
        container_id,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    code = await process.wait()
    elapsed = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"raw runc run failed with exit code {code}")
    await run_command(["runc", "--root", str(runc_root), "delete", "--force", container_id])
    return elapsed


async def prepare_raw_bundle(scratch: Path) -> tuple[Path, OciDriver, Path]:
    """Imports busybox as IMAGE into ``scratch/images`` and writes a raw runc bundle equivalent to
    what the driver generates for it; returns (bundle dir, a warmed-up driver, image dir)."""
    image_dir = scratch / "images"
    rootfs = artifacts.busybox_rootfs(scratch / "rootfs", Path(shutil.which("busybox") or "busybox"))
    image = ImageStore(image_dir).import_path(rootfs, IMAGE)
    driver = OciDriver(OciSettings(state_dir=scratch / "oci", image_dir=image_dir))
    await driver.start(container("template:main", "sleep", "60", image=IMAGE))  # warm-up, and its bundle
    spec = json.loads((scratch / "oci" / "tasks" / "template.main" / "bundle" / "config.json").read_text())
    await driver.destroy("template:main", force=True)
    spec["root"] = {"path": str(image.rootfs), "readonly": True}
    spec["linux"]["cgroupsPath"] = "/atoll-bench/raw"
    bundle = scratch / "raw-bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle, driver, image_dir


def remove_bench_cgroups() -> None:
    for parent in Path("/sys/fs/cgroup").glob("*/atoll-bench"):
        with contextlib.suppress(OSError):
            parent.rmdir()


async def bench_containers(scratch: Path, count: int) -> dict[str, Any]:
    bundle, driver, _ = await prepare_raw_bundle(scratch)
    driven, raw = [], []
    for index in range(count):  # alternate which goes first, so drift favours neither
        if index % 2:
            raw.append(await raw_container(scratch / "raw-runc", bundle, index))
        driven.append(await _driver_container(driver, index))
        if not index % 2:
            raw.append(await raw_container(scratch / "raw-runc", bundle, index))
    remove_bench_cgroups()
    driver_ms, raw_ms = statistics.median(driven) * 1000, statistics.median(raw) * 1000
    return {
        "driver_p50_ms": round(driver_ms, 1),
        "raw_p50_ms": round(raw_ms, 1),
        "overhead_ms": round(driver_ms - raw_ms, 1),
        "target_overhead_ms": CONTAINER_TARGET_MS,
        "ok": driver_ms - raw_ms <= CONTAINER_TARGET_MS,
        "runs": count,
    }


async def _driver_vm(driver: QemuDriver, config_args: tuple[Any, ...], index: int) -> float:
    task_id = f"v{index}:vm"
    began = time.perf_counter()
    await driver.start(vm(task_id, *config_args))
    while not (await driver.inspect(task_id)).guest_booted:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - began
    await driver.destroy(task_id, force=True)
    return elapsed


async def raw_vm(kernel: artifacts.Kernel, initramfs: Path, acceleration: Acceleration) -> float:
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        "qemu-system-x86_64",
        "-machine",
        f"pc,accel={acceleration.accel}",
        "-cpu",
        acceleration.cpu,
        "-m",
        "256M",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-kernel",
        str(kernel.image),
        "-initrd",
        str(initramfs),
        "-append",
        BASE_CMDLINE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        while artifacts.MARKER.encode() not in await asyncio.wait_for(process.stdout.readline(), 120):
            pass
        return time.perf_counter() - began
    finally:
        process.kill()
        await process.wait()


async def settled(seconds: float) -> None:
    """The pause before each VM boot (VM_SETTLE_SECONDS)."""
    await asyncio.sleep(seconds)


async def bench_vms(scratch: Path, count: int, settle: float = VM_SETTLE_SECONDS) -> dict[str, Any]:
    kernel = artifacts.debian_kernel()
    initramfs = artifacts.build_initramfs(scratch / "initrd.cpio", Path(shutil.which("busybox") or "busybox"), kernel)
    driver = QemuDriver(QemuSettings(state_dir=scratch / "qemu", vm_image_dirs=(kernel.image.parent, scratch)))
    fingerprint = await driver.fingerprint()
    acceleration = driver.acceleration
    if acceleration is None:
        raise SystemExit(f"qemu unusable: {fingerprint.reason}")
    driven, raw = [], []
    for index in range(count):  # alternate which goes first, so drift favours neither
        if index % 2:
            await settled(settle)
            raw.append(await raw_vm(kernel, initramfs, acceleration))
        await settled(settle)
        driven.append(await _driver_vm(driver, (kernel, initramfs), index))
        if not index % 2:
            await settled(settle)
            raw.append(await raw_vm(kernel, initramfs, acceleration))
    driver_s, raw_s = statistics.median(driven), statistics.median(raw)
    return {
        "driver_median_s": round(driver_s, 3),
        "raw_median_s": round(raw_s, 3),
        "ratio": round(driver_s / raw_s, 3),
        "target_ratio": VM_TARGET_RATIO,
        "ok": driver_s / raw_s <= VM_TARGET_RATIO,
        "runs": count,
        "accel": acceleration.accel,
        "kernel": kernel.image.name,
        "settle_s": settle,
        "driver_runs_s": [round(x, 3) for x in driven],
        "raw_runs_s": [round(x, 3) for x in raw],
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"benchmark": "runtimes"}
    with Supervisor() as children:
        calibration = await measure(children)
    results["calibration"] = calibration.as_json()
    with tempfile.TemporaryDirectory(prefix="atoll-bench-") as scratch:
        if args.containers:
            results["container"] = await bench_containers(Path(scratch), args.containers)
            results["container"].update(
                calibration.ratios(durations={"driver_p50": results["container"]["driver_p50_ms"] / 1000})
            )
        if args.vms:
            results["vm"] = await bench_vms(Path(scratch), args.vms, args.vm_settle)
            results["vm"].update(calibration.ratios(durations={"driver_median": results["vm"]["driver_median_s"]}))
    return results


def _table(results: dict[str, Any]) -> None:
    print(calibration_line(results["calibration"]))
    print(f"{'workload':<10}{'driver':>14}{'raw':>14}{'overhead':>14}{'target':>12}{'ok':>6}")
    if "container" in results:
        c = results["container"]
        print(
            f"{'container':<10}{c['driver_p50_ms']:>11.1f} ms{c['raw_p50_ms']:>11.1f} ms"
            f"{c['overhead_ms']:>+11.1f} ms{'<= +150 ms':>12}{'yes' if c['ok'] else 'NO':>6}"
        )
    if "vm" in results:
        v = results["vm"]
        print(
            f"{'vm':<10}{v['driver_median_s']:>12.2f} s{v['raw_median_s']:>12.2f} s"
            f"{v['ratio']:>12.3f} x{'<= 1.1 x':>12}{'yes' if v['ok'] else 'NO':>6}"
        )


def options(description: str) -> argparse.ArgumentParser:
    """The options of both runtime benchmarks (this one and runtimes_api)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--containers", type=int, default=20, help="container runs (0 to skip)")
    parser.add_argument("--vms", type=int, default=5, help="VM boots (0 to skip)")
    parser.add_argument(
        "--vm-settle",
        type=float,
        default=VM_SETTLE_SECONDS,
        help=f"seconds to wait before each VM boot (default {VM_SETTLE_SECONDS:g})",
    )
    return parser


if __name__ == "__main__":
    isolate_environment("atoll-bench-runtimes-")
    outcome = asyncio.run(main(options(__doc__.split("\n")[0]).parse_args()))
    _table(outcome)
    print(json.dumps(outcome))
