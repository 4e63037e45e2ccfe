"""Live migration benchmark: ``python -m tests.bench.migration [--runs N] [--hollow-vms N]``.

Real (same machine, same run, atoll and raw interleaved so background noise hits both alike):

- atoll: a 256 MiB TCG guest booted by a QemuDriver, moved to a second QemuDriver on its own state
  dir through the driver's migration ability (agent/drivers/migration.py: ``prepare_incoming``
  with ``-incoming defer``, ``migrate_out`` with auto-converge and the 300 ms downtime limit,
  query-migrate polled twice a second) until the guest runs on the target.
- raw: the same kernel, initramfs and memory in two plain ``qemu-system-x86_64`` processes, one
  started with ``-incoming tcp:127.0.0.1:PORT``, ``migrate`` sent by hand over QMP with the same
  downtime limit, query-migrate polled every 50 ms.
Both report total time (migrate sent -> completed) and QEMU's own downtime figure; p50 and p99
over N runs (default 5). Target: downtime p50 <= 300 ms (QEMU's default limit).

Hollow: an in-process API server, scheduler, migration controller and a hollow fleet of sim
hypervisor nodes; ``--hollow-vms`` VMs on ``--hollow-drain`` nodes are live-migrated (one
migration each, as ``atoll node drain`` creates them) under the default limits (5 per cluster,
2 outbound per node): migrations per minute, and the most seen at once (never above the limit).

Needs root, qemu and busybox-static and the cached kernel (scripts/install_runtime_deps.sh).
Hermetic (tests/support/hermetic.py). Prints the calibration figure (calibration.py), a table,
then one JSON line; exits at once when a process it started dies.
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

from agent.drivers.migration import MigrationParams, MigrationProgress
from agent.drivers.qemu import QemuDriver, QemuSettings
from agent.drivers.qemu.migration import free_port
from agent.drivers.qemu.monitor import Monitor
from tests.bench.calibration import calibration_line, measure
from tests.bench.migration_hollow import bench_hollow_drain
from tests.bench.supervisor import Supervisor
from tests.e2e import artifacts
from tests.e2e.conftest import BASE_CMDLINE, vm
from tests.support.hermetic import isolate_environment

DOWNTIME_TARGET_MS = 300
MEMORY_MIB = 256
RAW_POLL = 0.05


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def atoll_run(source: QemuDriver, target: QemuDriver, kernel: artifacts.Kernel, initramfs: Path,
                    index: int) -> tuple[float, int]:
    task_id = f"m{index}:vm"
    config = vm(task_id, kernel, initramfs)
    await source.start(config)
    try:
        while not (await source.inspect(task_id)).guest_booted:
            await asyncio.sleep(0.05)
        _, address = await target.prepare_incoming(config)
        began = time.perf_counter()
        final: MigrationProgress = await source.migrate_out(task_id, address, MigrationParams(), lambda _: None)
        return time.perf_counter() - began, final.downtime_ms
    finally:
        await source.destroy(task_id, force=True)
        await target.destroy(task_id, force=True)


def _raw_argv(kernel: artifacts.Kernel, initramfs: Path, qmp: Path, console: Path, accel: str, cpu: str) -> list[str]:
    return ["qemu-system-x86_64", "-machine", f"pc,accel={accel}", "-cpu", cpu, "-m", f"{MEMORY_MIB}M",
            "-nodefaults", "-no-user-config", "-display", "none", "-qmp", f"unix:{qmp},server=on,wait=off",
            "-chardev", f"file,id=console,path={console}", "-serial", "chardev:console",
            "-kernel", str(kernel.image), "-initrd", str(initramfs), "-append", BASE_CMDLINE]


async def raw_run(scratch: Path, kernel: artifacts.Kernel, initramfs: Path, accel: str, cpu: str,
                  index: int) -> tuple[float, int]:
    run_dir = scratch / f"raw{index}"
    run_dir.mkdir()
    port = free_port("127.0.0.1")
    source_argv = _raw_argv(kernel, initramfs, run_dir / "a.qmp", run_dir / "a.log", accel, cpu)
    target_argv = [*_raw_argv(kernel, initramfs, run_dir / "b.qmp", run_dir / "b.log", accel, cpu),
                   "-incoming", f"tcp:127.0.0.1:{port}"]
    processes = [await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL,
                                                      stderr=asyncio.subprocess.DEVNULL)
                 for argv in (source_argv, target_argv)]
    monitor = Monitor("raw-bench")
    try:
        console = run_dir / "a.log"
        while not console.exists() or artifacts.MARKER not in console.read_text(errors="replace"):
            if any(process.returncode is not None for process in processes):
                raise SystemExit("a raw QEMU died")
            await asyncio.sleep(0.05)
        await monitor.connect(run_dir / "a.qmp")
        await monitor.execute("migrate-set-parameters", {"downtime-limit": DOWNTIME_TARGET_MS})
        began = time.perf_counter()
        await monitor.execute("migrate", {"uri": f"tcp:127.0.0.1:{port}"})
        while True:
            info = await monitor.execute("query-migrate")
            state = info.get("status") if isinstance(info, dict) else ""
            if state == "completed":
                assert isinstance(info, dict)
                return time.perf_counter() - began, int(info.get("downtime", 0))
            if state in ("failed", "cancelled"):
                raise SystemExit(f"raw migration {state}: {info}")
            await asyncio.sleep(RAW_POLL)
    finally:
        await monitor.close()
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def bench_real(scratch: Path, runs: int) -> dict[str, Any]:
    kernel = artifacts.debian_kernel()
    initramfs = artifacts.build_initramfs(scratch / "initrd.cpio", Path(shutil.which("busybox") or "busybox"), kernel)
    dirs = (kernel.image.parent, scratch)
    source = QemuDriver(QemuSettings(state_dir=scratch / "qemu-a", vm_image_dirs=dirs))
    target = QemuDriver(QemuSettings(state_dir=scratch / "qemu-b", vm_image_dirs=dirs))
    for driver in (source, target):
        fingerprint = await driver.fingerprint()
        if driver.acceleration is None:
            raise SystemExit(f"qemu unusable: {fingerprint.reason}")
    assert source.acceleration is not None
    accel, cpu = source.acceleration.accel, source.acceleration.cpu
    atoll_times, atoll_down, raw_times, raw_down = [], [], [], []
    for index in range(runs):  # alternate which goes first, so drift favours neither
        order = ("atoll", "raw") if index % 2 == 0 else ("raw", "atoll")
        for side in order:
            if side == "atoll":
                seconds, downtime = await atoll_run(source, target, kernel, initramfs, index)
                atoll_times.append(seconds)
                atoll_down.append(downtime)
            else:
                seconds, downtime = await raw_run(scratch, kernel, initramfs, accel, cpu, index)
                raw_times.append(seconds)
                raw_down.append(downtime)
    return {
        "runs": runs, "accel": accel, "memory_mib": MEMORY_MIB,
        "atoll_total_p50_s": round(statistics.median(atoll_times), 3),
        "atoll_total_p99_s": round(percentile(atoll_times, 0.99), 3),
        "atoll_downtime_p50_ms": statistics.median(atoll_down),
        "atoll_downtime_p99_ms": percentile(atoll_down, 0.99),
        "raw_total_p50_s": round(statistics.median(raw_times), 3),
        "raw_total_p99_s": round(percentile(raw_times, 0.99), 3),
        "raw_downtime_p50_ms": statistics.median(raw_down),
        "raw_downtime_p99_ms": percentile(raw_down, 0.99),
        "downtime_target_ms": DOWNTIME_TARGET_MS,
        "ok": statistics.median(atoll_down) <= DOWNTIME_TARGET_MS,
        "atoll_runs_s": [round(x, 3) for x in atoll_times], "atoll_downtimes_ms": atoll_down,
        "raw_runs_s": [round(x, 3) for x in raw_times], "raw_downtimes_ms": raw_down,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"benchmark": "migration"}
    with Supervisor() as children:
        calibration = await measure(children)
    results["calibration"] = calibration.as_json()
    with tempfile.TemporaryDirectory(prefix="atoll-bench-") as scratch:
        if args.runs:
            real = results["real"] = await bench_real(Path(scratch), args.runs)
            real.update(calibration.ratios(durations={"atoll_total_p50": real["atoll_total_p50_s"]}))
    if args.hollow_vms:
        hollow = results["hollow"] = await bench_hollow_drain(args.hollow_nodes, args.hollow_drain, args.hollow_vms)
        hollow.update(calibration.ratios(rates={"migrations_per_s": hollow["migrations_per_min"] / 60}))
    return results


def _table(results: dict[str, Any]) -> None:
    print(calibration_line(results["calibration"]))
    if "real" in results:
        r = results["real"]
        print(f"real TCG guest, {r['memory_mib']} MiB, {r['runs']} runs, accel {r['accel']}")
        print(f"{'':<8}{'total p50':>12}{'total p99':>12}{'downtime p50':>15}{'downtime p99':>15}")
        for side in ("atoll", "raw"):
            print(f"{side:<8}{r[side + '_total_p50_s']:>10.2f} s{r[side + '_total_p99_s']:>10.2f} s"
                  f"{r[side + '_downtime_p50_ms']:>12} ms{r[side + '_downtime_p99_ms']:>12} ms")
        print(f"target: downtime p50 <= {r['downtime_target_ms']} ms: {'yes' if r['ok'] else 'NO'}")
    if "hollow" in results:
        h = results["hollow"]
        print(f"hollow drain: {h['vms']} VMs off {h['drained_nodes']} of {h['nodes']} nodes: "
              f"{h['migrations_per_min']:.0f} migrations/min, {h['succeeded']} succeeded, "
              f"at most {h['max_in_flight']} at once (limit {h['limit']})")


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=5, help="real migrations per side (0 to skip)")
    parser.add_argument("--hollow-nodes", type=int, default=200, help="hollow fleet size")
    parser.add_argument("--hollow-drain", type=int, default=10, help="nodes whose VMs are migrated")
    parser.add_argument("--hollow-vms", type=int, default=100, help="VMs migrated (0 to skip)")
    return parser


if __name__ == "__main__":
    isolate_environment("atoll-bench-migration-")
    outcome = asyncio.run(main(options().parse_args()))
    _table(outcome)
    print(json.dumps(outcome))
