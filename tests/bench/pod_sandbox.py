"""Pod sandbox benchmark: ``python -m tests.bench.pod_sandbox [--runs N]``.

What a pod's network costs at start, at the driver layer, in one run with the three kinds of
start interleaved (so background noise hits all alike):

- network: ``run_sandbox`` (a network namespace pinned, CNI ADD of loopback and of bridge +
  host-local + portmap with Debian's plugins) then ``OciDriver.start`` of a container joining it,
  until it runs;
- hostNetwork: ``OciDriver.start`` of the same container with ``hostNetwork`` (no sandbox);
- raw: ``runc run --detach`` of the same bundle config (the baseline of tests/bench/runtimes.py).

Each start is followed, untimed, by the teardown (destroy; sandbox removed: CNI DEL, namespace
unpinned). p50 and p99 of N (default 40); target: network - hostNetwork p50 <= +100 ms. The
node's network lives in a network namespace of the benchmark's own (removed afterwards), never
on the host's interfaces. Needs root, runc, busybox-static, containernetworking-plugins, iproute2.
Hermetic (tests/support/hermetic.py). Prints the calibration figure, a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.drivers.abilities import SandboxConfig
from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.real import node_sandboxes
from tests.bench.calibration import calibration_line, measure
from tests.bench.runtimes import IMAGE, prepare_raw_bundle, raw_container, remove_bench_cgroups
from tests.bench.supervisor import Supervisor
from tests.e2e.conftest import container
from tests.support.hermetic import isolate_environment
from tests.support.netns import NETNS_DIR, scratch_netns

TARGET_P50_MS = 100.0
POD_CIDR = "10.99.0.0/24"


async def _with_network(driver: OciDriver, index: int) -> tuple[float, float]:
    """Seconds to a running container in a new sandbox, and of those the sandbox's part."""
    uid = f"net{index}"
    began = time.perf_counter()
    await driver.run_sandbox(SandboxConfig(uid, "default", f"bench-{index}"))
    sandbox = time.perf_counter() - began
    await driver.start(container(f"{uid}:main", "sleep", "60", image=IMAGE))
    elapsed = time.perf_counter() - began
    await driver.destroy(f"{uid}:main", force=True)
    await driver.remove_sandbox(uid)
    return elapsed, sandbox


async def _host_network(driver: OciDriver, index: int) -> float:
    task_id = f"host{index}:main"
    began = time.perf_counter()
    await driver.start(container(task_id, "sleep", "60", image=IMAGE, host_network=True))
    elapsed = time.perf_counter() - began
    await driver.destroy(task_id, force=True)
    return elapsed


def _p(values: list[float], percentile: int) -> float:
    """The ``percentile`` of ``values`` in ms (inclusive method: p99 of few runs is near the max)."""
    return round(statistics.quantiles(values, n=100, method="inclusive")[percentile - 1] * 1000, 1)


async def bench(scratch: Path, runs: int, node_netns: Path) -> dict[str, Any]:
    bundle, warm, image_dir = await prepare_raw_bundle(scratch)
    await warm.close()
    sandboxes = node_sandboxes(scratch / "node", "bench", node_netns=node_netns)
    sandboxes.network.set_pod_cidr(POD_CIDR)
    driver = OciDriver(OciSettings(state_dir=scratch / "oci-net", image_dir=image_dir, sandboxes=sandboxes,
                                   cgroup_parent="atoll-bench/bench"))
    await _with_network(driver, -1)  # warm-up: the bridge is made by the first ADD
    network, sandbox, host, raw = [], [], [], []
    try:
        for index in range(runs):
            order = index % 3  # rotate which goes first, so drift favours none
            for turn in range(3):
                kind = (order + turn) % 3
                if kind == 0:
                    elapsed, setup = await _with_network(driver, index)
                    network.append(elapsed)
                    sandbox.append(setup)
                elif kind == 1:
                    host.append(await _host_network(driver, index))
                else:
                    raw.append(await raw_container(scratch / "raw-runc", bundle, index))
    finally:
        await sandboxes.sweep(lambda uid: False)
        remove_bench_cgroups()
    overhead = _p(network, 50) - _p(host, 50)
    return {
        "network_p50_ms": _p(network, 50), "network_p99_ms": _p(network, 99),
        "sandbox_p50_ms": _p(sandbox, 50), "sandbox_p99_ms": _p(sandbox, 99),
        "host_network_p50_ms": _p(host, 50), "host_network_p99_ms": _p(host, 99),
        "raw_p50_ms": _p(raw, 50), "raw_p99_ms": _p(raw, 99),
        "overhead_p50_ms": round(overhead, 1), "overhead_p99_ms": round(_p(network, 99) - _p(host, 99), 1),
        "target_overhead_p50_ms": TARGET_P50_MS, "ok": overhead <= TARGET_P50_MS, "runs": runs,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"benchmark": "pod_sandbox"}
    with Supervisor() as children:
        calibration = await measure(children)
    results["calibration"] = calibration.as_json()
    with tempfile.TemporaryDirectory(prefix="atoll-bench-") as scratch, scratch_netns("atoll-bench") as netns:
        results["sandbox"] = await bench(Path(scratch), args.runs, NETNS_DIR / netns)
    durations = {"network_p50": results["sandbox"]["network_p50_ms"] / 1000,
                 "overhead_p50": results["sandbox"]["overhead_p50_ms"] / 1000}
    results["sandbox"].update(calibration.ratios(durations=durations))
    return results


def _table(results: dict[str, Any]) -> None:
    print(calibration_line(results["calibration"]))
    s = results["sandbox"]
    print(f"{'start of one container':<34}{'p50':>10}{'p99':>10}")
    for label, key in (("with its pod network (sandbox+start)", "network"), ("  of which the sandbox", "sandbox"),
                       ("hostNetwork (no sandbox)", "host_network"), ("raw runc run -d", "raw")):
        print(f"{label:<34}{s[key + '_p50_ms']:>7.1f} ms{s[key + '_p99_ms']:>7.1f} ms")
    verdict = "yes" if s["ok"] else "NO"
    print(f"{'overhead of the network':<34}{s['overhead_p50_ms']:>+7.1f} ms{s['overhead_p99_ms']:>+7.1f} ms"
          f"   target p50 <= +{TARGET_P50_MS:g} ms: {verdict}")


if __name__ == "__main__":
    isolate_environment("atoll-bench-pod-sandbox-")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="starts of each kind (default 40)")
    outcome = asyncio.run(main(parser.parse_args()))
    _table(outcome)
    print(json.dumps(outcome))
