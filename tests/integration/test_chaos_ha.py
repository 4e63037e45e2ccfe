"""Chaos, bounded: 3 etcd members and 2 API server processes (`atoll up` on etcd), a load of
creates and updates through one client given both servers, a watcher through the same client.
One at a time: kill -9 an API server (and start it again), kill -9 an etcd follower, kill -9 the
etcd leader (each started again). Afterwards every acknowledged write is in the store with its
acknowledged content, none was applied twice, the watcher saw every object, and the client
carried on. Prints the client-visible gap around each kill (no timing assertions here: that is
for benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from atoll.client import ApiError, Backoff, Client
from atoll.v1 import config_pb2
from atoll.watch_events import ADDED, MODIFIED, RESYNC
from tests.support.apiserver_process import api_servers
from tests.support.etcd_cluster import etcd_cluster
from tests.support.system import require_binary

pytestmark = pytest.mark.etcd

WRITERS = 4
PHASE_SECONDS = 2.0


@dataclass
class Load:
    """What the writers had acknowledged, and when the client could not write."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # name -> value of the last acked write
    failures: list[tuple[float, str]] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def config_map(name: str, value: str) -> config_pb2.ConfigMap:
    message = config_pb2.ConfigMap()
    message.metadata.name, message.metadata.namespace = name, "default"
    message.data["value"] = value
    return message


async def write_until_stopped(client: Client, load: Load, writer: int) -> None:
    """Creates cm-W-N, then updates it once; a write whose outcome is unknown (the connection
    broke) is retried: a create that then finds the name taken was applied the first time."""
    number = 0
    while not load.stop.is_set():
        name = f"cm-{writer}-{number}"
        for value, update in ((f"{name}:v1", False), (f"{name}:v2", True)):
            while not load.stop.is_set():
                try:
                    if update:
                        current = (await client.get("configmap", name)).config_map
                        current.data["value"] = value
                        await client.update(current)
                    else:
                        await client.create(config_map(name, value))
                except ApiError as error:
                    if error.code == grpc.StatusCode.ALREADY_EXISTS and not update:
                        pass  # the earlier try was applied
                    else:
                        load.failures.append((time.monotonic(), f"{error.code.name}: {error.message[:120]}"))
                        await asyncio.sleep(0.05)
                        continue
                load.acknowledged[name] = value
                load.successes.append(time.monotonic())
                break
        number += 1


async def watch_names(client: Client, seen: dict[str, str], relists: list[int]) -> None:
    async for event in client.list_then_watch("configmaps"):
        if event.type == RESYNC:
            relists.append(1)
        elif event.type in (ADDED, MODIFIED):
            seen[event.object.config_map.metadata.name] = event.object.config_map.data["value"]


def outage_after(load: Load, moment: float) -> float:
    """Seconds from ``moment`` to the first acknowledged write after the first failure after it."""
    failures = [at for at, _ in load.failures if at >= moment]
    if not failures:
        return 0.0
    later = [at for at in load.successes if at >= failures[0]]
    return (later[0] if later else time.monotonic()) - failures[0]


async def test_acknowledged_writes_survive_api_server_and_etcd_kills(tmp_path: Path) -> None:
    require_binary("etcd", "etcd-server")
    with etcd_cluster(3) as cluster, api_servers(cluster, tmp_path, 2) as servers:
        addresses = ",".join(server.address for server in servers)
        client = Client.connect(addresses, timeout=10.0, backoff=Backoff(attempts=20, maximum=1.0))
        load, seen, relists = Load(), {}, []
        writers = [asyncio.create_task(write_until_stopped(client, load, index)) for index in range(WRITERS)]
        watcher = asyncio.create_task(watch_names(client, seen, relists))
        outages: dict[str, float] = {}
        try:
            await asyncio.sleep(PHASE_SECONDS)

            async def chaos(label: str, kill: object, restart: object) -> None:
                moment = time.monotonic()
                await asyncio.to_thread(kill)  # type: ignore[arg-type]
                await asyncio.sleep(PHASE_SECONDS)
                await asyncio.to_thread(restart)  # type: ignore[arg-type]
                await asyncio.sleep(PHASE_SECONDS)
                outages[label] = outage_after(load, moment)

            await chaos("API server", servers[0].kill, servers[0].start)
            follower = next(index for index in range(3) if index != cluster.leader())
            await chaos("etcd follower", lambda: cluster.kill(follower), lambda: cluster.restart(follower))
            leader = cluster.leader()
            await chaos("etcd leader", lambda: cluster.kill(leader), lambda: cluster.restart(leader))
            await chaos("the other API server", servers[1].kill, servers[1].start)
        finally:
            load.stop.set()
            await asyncio.gather(*writers, return_exceptions=True)
        try:
            async with asyncio.timeout(60):
                while not all(seen.get(name) == value for name, value in load.acknowledged.items()):
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pass
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        stored, _ = await client.list_all("configmaps")
        await client.close()
    contents = {cm.config_map.metadata.name: cm.config_map.data["value"] for cm in stored}
    lost = {name: value for name, value in load.acknowledged.items() if contents.get(name) != value}
    unseen = {name for name, value in load.acknowledged.items() if seen.get(name) != value}
    print(
        f"\nchaos: {len(load.acknowledged)} objects acknowledged ({len(load.successes)} writes), "
        f"{len(load.failures)} failed attempts, {len(relists)} relists; client-visible gap after each kill: "
        + ", ".join(f"{label} {seconds:.2f} s" for label, seconds in outages.items())
    )
    assert len(load.acknowledged) > 20, "the load never got going"
    assert not lost, f"{len(lost)} acknowledged writes lost or changed, e.g. {sorted(lost.items())[:3]}"
    assert not unseen, f"the watcher missed {len(unseen)} objects, e.g. {sorted(unseen)[:3]}"
