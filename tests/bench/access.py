"""Sessions benchmark: ``python -m tests.bench.access [--execs N] [--megabytes M]``.

Same machine, same run, raw and through-atoll runs interleaved so background noise hits both:

- exec: the round trip of ``true`` in a running busybox container, opened with the typed client
  (``Client.open_session``) through the API server and the node agent until the exit status is
  back, vs a raw ``runc exec CONTAINER true`` of the same container. p50 and p99 of N (default
  30); target: p50 overhead <= +150 ms.
- port-forward: M MiB (default 64) sent through ``atoll port-forward``'s path (a session per
  connection) to a sink inside the container's network namespace (busybox ``nc -ll -e``), until the
  sink closed, vs the same bytes over a direct loopback connection to a sink in this process.

The API server (memory store, plaintext), the agent (runc) and the client share this process and
its event loop, which understates nothing a separate client would add beyond one more hop over
loopback. Needs root, runc and busybox-static. Hermetic (tests/support/hermetic.py). Prints the
calibration figure (calibration.py), a table, then one JSON line.
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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.drivers.oci import OciDriver, OciSettings
from agent.logs_service import start_logs_server
from agent.registration import NodeProfile
from agent.run import start_node
from atoll import sessions
from atoll.client import ApiError, Client
from atoll.clock import SystemClock
from atoll.images import ImageStore
from atoll.v1 import access_pb2
from controller.apiserver.server import start_api_server
from controller.store.memory import MemoryStore
from tests.bench.agent import percentile
from tests.bench.calibration import calibration_line, measure
from tests.bench.supervisor import Supervisor
from tests.e2e import artifacts
from tests.support.hermetic import isolate_environment
from tests.support.objects import make_pod

IMAGE = "busybox:bench"
NODE = "bench-access"
SINK_PORT = 9000
EXEC_TARGET_MS = 150.0
CHUNK = 64 * 1024


@contextlib.asynccontextmanager
async def real_node(scratch: Path) -> AsyncIterator[tuple[Client, OciDriver]]:
    """An API server, node NODE running runc with a busybox pod "bench" (a sink on SINK_PORT:
    every connection read to its end, then closed), and a client; everything stopped afterwards."""
    image_dir = scratch / "images"
    rootfs = artifacts.busybox_rootfs(scratch / "rootfs", Path(shutil.which("busybox") or "busybox"))
    ImageStore(image_dir).import_path(rootfs, IMAGE)
    driver = OciDriver(OciSettings(state_dir=scratch / "oci", image_dir=image_dir))
    store = MemoryStore()
    api = await start_api_server(store, "127.0.0.1:0")
    agent_server = await start_logs_server("127.0.0.1:0")
    client = Client.connect(api.address)
    profile = NodeProfile(name=NODE, address="127.0.0.1", cpu="2", memory="4Gi", endpoint=agent_server.address)
    running = await start_node(client, profile, [driver], clock=SystemClock(), config=AgentConfig())
    agent_server.serve(running.agent)
    try:
        pod = make_pod("bench")
        pod.pod.spec.node_name = NODE
        main = pod.pod.spec.containers[0]
        main.image = IMAGE
        main.command.extend(["nc", "-ll", "-p", str(SINK_PORT), "-e", "sh", "-c", "cat > /dev/null"])
        await client.create(pod)
        deadline = time.monotonic() + 60
        while (await client.get("pod", "bench")).pod.status.phase != "Running":
            if time.monotonic() > deadline:
                raise SystemExit("the bench pod did not run within 60 s")
            await asyncio.sleep(0.1)
        yield client, driver
    finally:
        await running.close()
        for handle in await driver.list_tasks():
            await driver.destroy(handle.task_id, force=True)
        await driver.close()
        await client.close()
        await agent_server.stop()
        await api.stop(grace=0.1)
        await store.close()


async def exec_via_atoll(client: Client) -> float:
    began = time.perf_counter()
    session = await client.open_session(sessions.exec_start("default", "bench", ["true"]))
    async for _ in session.output():
        pass
    if session.exit is None or session.exit.code != 0:
        raise SystemExit(f"exec true through atoll ended with {session.exit}")
    return time.perf_counter() - began


async def exec_raw(driver: OciDriver, container_id: str) -> float:
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*driver.runtime.argv(), "exec", container_id, "true")
    if await process.wait() != 0:
        raise SystemExit("raw runc exec true failed")
    return time.perf_counter() - began


async def bench_exec(client: Client, driver: OciDriver, count: int) -> dict[str, Any]:
    [handle] = await driver.list_tasks()
    container_id = handle.state["container_id"]
    atoll_runs, raw_runs = [], []
    await exec_via_atoll(client)  # warm-up: channels, first session
    for index in range(count):  # alternate which goes first, so drift favours neither
        if index % 2:
            raw_runs.append(await exec_raw(driver, container_id))
        atoll_runs.append(await exec_via_atoll(client))
        if not index % 2:
            raw_runs.append(await exec_raw(driver, container_id))
    atoll_p50, raw_p50 = statistics.median(atoll_runs) * 1000, statistics.median(raw_runs) * 1000
    return {
        "atoll_p50_ms": round(atoll_p50, 1),
        "atoll_p99_ms": round(percentile(atoll_runs, 0.99) * 1000, 1),
        "raw_p50_ms": round(raw_p50, 1),
        "raw_p99_ms": round(percentile(raw_runs, 0.99) * 1000, 1),
        "overhead_p50_ms": round(atoll_p50 - raw_p50, 1),
        "target_overhead_ms": EXEC_TARGET_MS,
        "ok": atoll_p50 - raw_p50 <= EXEC_TARGET_MS,
        "runs": count,
    }


async def send_through_session(client: Client, total: int) -> float:
    start = access_pb2.SessionStart(capability=sessions.PORT_FORWARD, kind="Pod", name="bench", port=SINK_PORT)
    payload = b"x" * CHUNK
    for _ in range(100):  # nc may not listen yet right after the pod started
        try:
            began = time.perf_counter()
            session = await client.open_session(start)
            break
        except ApiError:
            await asyncio.sleep(0.1)
    else:
        raise SystemExit(f"nothing listens on port {SINK_PORT} in the bench pod")
    sent = 0
    while sent < total:
        await session.send(payload)
        sent += len(payload)
    await session.close_stdin()
    async for _ in session.output():  # until the sink closed its side
        pass
    return time.perf_counter() - began


async def send_direct(total: int) -> float:
    done = asyncio.Event()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(CHUNK):
            pass
        writer.close()
        done.set()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    payload = b"x" * CHUNK
    try:
        began = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sent = 0
        while sent < total:
            writer.write(payload)
            await writer.drain()
            sent += len(payload)
        writer.write_eof()
        await reader.read()
        elapsed = time.perf_counter() - began
        writer.close()
        await done.wait()
    finally:
        server.close()
    return elapsed


async def bench_port_forward(client: Client, megabytes: int) -> dict[str, Any]:
    total = megabytes * 2**20
    via_atoll, direct = [], []
    for _ in range(3):
        via_atoll.append(await send_through_session(client, total))
        direct.append(await send_direct(total))
    atoll_rate = total / statistics.median(via_atoll) / 2**20
    direct_rate = total / statistics.median(direct) / 2**20
    return {
        "megabytes": megabytes,
        "atoll_mib_per_s": round(atoll_rate, 1),
        "direct_mib_per_s": round(direct_rate, 1),
        "ratio": round(atoll_rate / direct_rate, 4),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"benchmark": "access"}
    with Supervisor() as children:
        calibration = await measure(children)
    results["calibration"] = calibration.as_json()
    with tempfile.TemporaryDirectory(prefix="atoll-bench-access-") as scratch:
        async with real_node(Path(scratch)) as (client, driver):
            results["exec"] = await bench_exec(client, driver, args.execs)
            results["exec"].update(calibration.ratios(durations={"atoll_p50": results["exec"]["atoll_p50_ms"] / 1000}))
            results["port_forward"] = await bench_port_forward(client, args.megabytes)
    return results


def _table(results: dict[str, Any]) -> None:
    print(calibration_line(results["calibration"]))
    e = results["exec"]
    print(f"{'exec true':<16}{'atoll p50':>12}{'p99':>10}{'runc p50':>12}{'p99':>10}{'overhead':>12}{'ok':>5}")
    print(f"{'':<16}{e['atoll_p50_ms']:>9.1f} ms{e['atoll_p99_ms']:>7.1f} ms{e['raw_p50_ms']:>9.1f} ms"
          f"{e['raw_p99_ms']:>7.1f} ms{e['overhead_p50_ms']:>+9.1f} ms{'yes' if e['ok'] else 'NO':>5}")
    p = results["port_forward"]
    print(f"{'port-forward':<16}{p['atoll_mib_per_s']:>8.1f} MiB/s via atoll, {p['direct_mib_per_s']:.1f} MiB/s "
          f"direct loopback ({p['ratio']:.3f} x, {p['megabytes']} MiB each)")


if __name__ == "__main__":
    isolate_environment("atoll-bench-access-")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--execs", type=int, default=30, help="exec round trips of each kind")
    parser.add_argument("--megabytes", type=int, default=64, help="MiB per port-forward transfer")
    outcome = asyncio.run(main(parser.parse_args()))
    _table(outcome)
    print(json.dumps(outcome))
