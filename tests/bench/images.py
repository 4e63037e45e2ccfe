"""Image benchmark: ``python -m tests.bench.images [--quick] [--big-mib 50]``.

A docker-registry on loopback (tests/support/registry.py), started here, holds every image used.
Figures, each beside its raw baseline measured in the same run:

1. scheduler decisions/s on the MixedFleet case (tests/bench/scheduler_cases.yaml) with image
   resolution on and a warm cache (every pod annotated by scheduler/image_resolution.py from the
   resolver's cache, then decided; ImagePlatform filters on a multi-arch or Windows index) against
   resolution off (the same workloads decided without platforms): the issue's target is within 10 %;
2. cold resolution latency: a fresh resolver asked for N references of the registry (index GET,
   or manifest + config GET for a single-platform image), p50/p99;
3. pull of an image of one --big-mib MiB layer (incompressible) into a fresh node store
   (agent/images/node_images.py: digest and platform lookup, skopeo copy, bounded unpack) against
   ``skopeo copy`` alone into an OCI layout;
4. as root with runc: pull + start + exit of a busybox image through the OCI driver against the
   raw ``skopeo copy`` + ``umoci unpack`` + ``runc run`` of the same image.
3 and 4 alternate three times on fresh directories and keep the best of each (one with --quick).

Hermetic (tests/support/hermetic.py). Prints the calibration figure (calibration.py), a table,
then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.protocol import Resources, TaskConfig
from agent.images.node_images import NodeImages
from agent.images.pull_types import PullRequest
from atoll.image_platforms import Platform
from atoll.image_reference import ImageReference, parse_image_reference
from atoll.image_registry import MAX_CONFIG_BYTES, Fetched, RegistryClient, RegistryConfig
from atoll.image_resolver import ImageResolver
from atoll.images import ImageStore
from scheduler.image_resolution import EVERY_REGISTRY, ImageResolution, ResolutionConfig
from scheduler.workload import WorkloadInfo
from tests.bench.calibration import measure
from tests.bench.scheduler import CASES, run_decisions
from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.support.hermetic import isolate_environment
from tests.support.registry import LocalRegistry, directory_layer, local_registry
from tests.unit.scheduler.fleet import workload_infos

LINUX_INDEX = ({"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm64", "variant": "v8"})
WINDOWS_INDEX = tuple(
    {"os": "windows", "architecture": "amd64", "os.version": version}
    for version in ("10.0.17763.5458", "10.0.20348.2113", "10.0.26100.1742")
)


class BenchMirror(RegistryClient):
    """Answers for any reference from the local registry (Windows images from bench/windows, the
    rest from bench/linux), so the case's own image names resolve as from their registries."""

    def __init__(self, host: str) -> None:
        super().__init__(RegistryConfig(insecure=frozenset({host})))
        self.host = host

    def _mirrored(self, image: ImageReference) -> ImageReference:
        windows = "windows" in image.repository
        return ImageReference(self.host, "bench/windows" if windows else "bench/linux", "1")

    def manifest(self, image: ImageReference, reference: str) -> Fetched:
        mirrored = self._mirrored(image)
        return super().manifest(mirrored, reference if reference.startswith("sha") else mirrored.tag)

    def blob(self, image: ImageReference, digest: str, limit: int = MAX_CONFIG_BYTES) -> bytes:
        return super().blob(self._mirrored(image), digest, limit)


def decisions_with_resolution(registry: LocalRegistry, case: dict[str, Any], rounds: int) -> dict[str, Any]:
    """MixedFleet decided plain and with every pod annotated from a warm resolver cache (the
    annotation, scheduler/image_resolution.py, inside the clock), alternately, best of each."""
    registry.push_index("bench/linux", "1", LINUX_INDEX)
    registry.push_index("bench/windows", "1", WINDOWS_INDEX)
    resolver = ImageResolver(BenchMirror(registry.host))
    resolution = ImageResolution(ResolutionConfig(frozenset({EVERY_REGISTRY})), resolver)
    for info in workload_infos(case["workloads"]):
        for text in info.images:
            resolver.resolve(parse_image_reference(text))  # warm

    def annotated(info: WorkloadInfo) -> WorkloadInfo:
        result = resolution.annotate(info)
        assert result is not None and (info.is_vm or result.image_platforms), "the cache must be warm"
        return result

    # Alternated, best of each: other jobs on a shared machine move single runs by 20 %.
    runs = [run_decisions(case, None, 500, prepare=annotated if index % 2 else None) for index in range(rounds * 2)]
    off = max(runs[0::2], key=lambda run: run["decisions_per_s"])
    on = max(runs[1::2], key=lambda run: run["decisions_per_s"])
    assert on["placed"] == off["placed"], "the images offer every platform asked: the same placements"
    return {"off": off, "on": on, "ratio": round(on["decisions_per_s"] / off["decisions_per_s"], 3)}


def cold_resolution(registry: LocalRegistry, count: int) -> dict[str, float]:
    for index in range(count):
        registry.push_index("bench/cold", f"i{index}", LINUX_INDEX)
        registry.push_image("bench/single", f"s{index}", {"os": "linux", "architecture": "amd64"})
    client = RegistryClient(RegistryConfig(insecure=frozenset({registry.host})))
    figures: dict[str, float] = {}
    for label, repository, prefix in (("index", "bench/cold", "i"), ("single", "bench/single", "s")):
        latencies = []
        for index in range(count):
            resolver = ImageResolver(client)  # cold: nothing cached
            started = time.perf_counter()
            resolver.resolve(parse_image_reference(f"{registry.host}/{repository}:{prefix}{index}"))
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        figures[f"cold_{label}_p50_ms"] = round(1000 * statistics.median(latencies), 2)
        figures[f"cold_{label}_p99_ms"] = round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2)
    return figures


def big_pull(registry: LocalRegistry, mib: int, scratch: Path, rounds: int) -> dict[str, float]:
    data = os.urandom(mib * 1024 * 1024)
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w:gz", compresslevel=1) as archive:
        info = tarfile.TarInfo("blob.bin")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    registry.push_image("bench/big", "1", {"os": "linux", "architecture": "amd64"}, [layer.getvalue()])
    reference = f"{registry.host}/bench/big:1"

    def raw_copy(index: int) -> None:
        subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{reference}",
                        f"oci:{scratch / f'raw-layout-{index}'}:image"], check=True)

    def pull(index: int) -> None:
        images = NodeImages(ImageStore(scratch / f"store-{index}"), Platform("linux", "amd64"),
                            RegistryConfig(insecure=frozenset({registry.host})))
        asyncio.run(images.ensure(PullRequest(reference)))

    raw, ours = alternated(raw_copy, pull, rounds)
    return {"big_layer_mib": mib, "skopeo_copy_s": round(raw, 3), "atoll_pull_s": round(ours, 3),
            "pull_over_copy": round(ours / raw, 2)}


def alternated(raw: Callable[[int], None], ours: Callable[[int], None], rounds: int) -> tuple[float, float]:
    """Best seconds of each of ``raw`` and ``ours``, run alternately ``rounds`` times (fresh state
    per index): single runs on a shared machine move by tens of percent."""
    raw_times, our_times = [], []
    for index in range(rounds):
        for run, times in ((raw, raw_times), (ours, our_times)):
            started = time.perf_counter()
            run(index)
            times.append(time.perf_counter() - started)
    return min(raw_times), min(our_times)


def busybox_pull_and_run(registry: LocalRegistry, scratch: Path, rounds: int) -> dict[str, float] | None:
    """None when not root or runc/umoci/busybox are missing (the table says so)."""
    busybox = shutil.which("busybox")
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("runc", "umoci")) or busybox is None:
        return None
    from tests.e2e.artifacts import busybox_rootfs

    rootfs = busybox_rootfs(scratch / "busybox-rootfs", Path(busybox))
    registry.push_image("bench/busybox", "1", {"os": "linux", "architecture": "amd64"}, [directory_layer(rootfs)],
                        {"Cmd": ["sh"]})
    reference = f"{registry.host}/bench/busybox:1"

    def raw_run(index: int) -> None:
        layout, bundle = scratch / f"bb-layout-{index}", scratch / f"bb-bundle-{index}"
        subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{reference}",
                        f"oci:{layout}:image"], check=True)
        subprocess.run(["umoci", "unpack", "--image", f"{layout}:image", str(bundle)], check=True,
                       capture_output=True)
        spec = json.loads((bundle / "config.json").read_text())
        spec["process"]["args"], spec["process"]["terminal"] = ["sh", "-c", "exit 0"], False
        (bundle / "config.json").write_text(json.dumps(spec))
        subprocess.run(["runc", "run", "--bundle", str(bundle), f"bench-{os.getpid()}-{index}"], check=True,
                       capture_output=True)

    async def pull_and_run(index: int) -> None:
        store = scratch / f"bb-store-{index}"
        pulls = NodeImages(ImageStore(store), Platform("linux", "amd64"),
                           RegistryConfig(insecure=frozenset({registry.host})))
        driver = OciDriver(OciSettings(state_dir=scratch / f"oci-{index}", image_dir=store, pulls=pulls))
        config = TaskConfig(task_id=f"bench{index}:main", kind="container", namespace="default", workload="bench",
                            workload_uid=f"bench{index}", name="main", image=reference,
                            command=("sh", "-c", "exit 0"), resources=Resources())
        ready = await driver.ensure_image(PullRequest(reference))
        await driver.start(dataclasses.replace(config, image=ready.reference))
        await driver.wait(config.task_id)
        await driver.destroy(config.task_id, force=True)

    raw, atoll = alternated(raw_run, lambda index: asyncio.run(pull_and_run(index)), rounds)
    return {"raw_copy_unpack_run_s": round(raw, 3), "atoll_pull_start_s": round(atoll, 3),
            "pull_start_over_raw": round(atoll / raw, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.images")
    parser.add_argument("--quick", action="store_true", help="fewer cold lookups, a 10 MiB layer")
    parser.add_argument("--big-mib", type=int, default=50, help="size of the big image's layer (default 50)")
    args = parser.parse_args(argv)
    isolate_environment("atoll-bench-images-")
    with exit_on_child_death(), Supervisor() as children:
        calibration = asyncio.run(measure(children))
    case = yaml.safe_load(CASES.read_text())["cases"]["MixedFleet"]
    with local_registry() as registry, tempfile.TemporaryDirectory(prefix="atoll-bench-images-") as scratch:
        decisions = decisions_with_resolution(registry, case, 1 if args.quick else 3)
        cold = cold_resolution(registry, 10 if args.quick else 50)
        rounds = 1 if args.quick else 3
        big = big_pull(registry, 10 if args.quick else args.big_mib, Path(scratch), rounds)
        busybox = busybox_pull_and_run(registry, Path(scratch), rounds)
    print(f"calibration: {calibration.echo_calls_per_s:,.0f} echo calls/s")
    print(f"{'figure':<52} {'value':>12}")
    rows = [
        ("MixedFleet decisions/s, resolution off", decisions["off"]["decisions_per_s"]),
        ("MixedFleet decisions/s, resolution on (warm cache)", decisions["on"]["decisions_per_s"]),
        ("  on / off", decisions["ratio"]),
        *((f"cold resolution {key[5:]}", value) for key, value in cold.items()),
        (f"skopeo copy alone, {big['big_layer_mib']} MiB layer (s)", big["skopeo_copy_s"]),
        (f"atoll pull into the node store, {big['big_layer_mib']} MiB (s)", big["atoll_pull_s"]),
    ]
    if busybox is None:
        rows.append(("busybox pull+start (needs root, runc, umoci, busybox)", "skipped"))
    else:
        rows += [("raw skopeo copy + umoci unpack + runc run (s)", busybox["raw_copy_unpack_run_s"]),
                 ("atoll pull + start + exit through the OCI driver (s)", busybox["atoll_pull_start_s"])]
    for label, value in rows:
        print(f"{label:<52} {value!s:>12}")
    print(json.dumps({"bench": "images", "calibration_echo_calls_per_s": round(calibration.echo_calls_per_s),
                      "decisions_off_per_s": decisions["off"]["decisions_per_s"],
                      "decisions_on_per_s": decisions["on"]["decisions_per_s"], "on_over_off": decisions["ratio"],
                      **cold, **big, **(busybox or {})}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
