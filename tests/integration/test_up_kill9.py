"""kill -9 of `atoll up` during a stream of creates loses no acknowledged object."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import grpc

from atoll.client import ApiError, Client
from tests.support.objects import make_pod
from tests.support.up_process import start_up

WRITERS = 16


async def _create_until_killed(address: str, acknowledged: list[str], stop: asyncio.Event) -> None:
    async with Client.connect(address, timeout=5) as client:

        async def writer(worker: int) -> None:
            index = 0
            while not stop.is_set():
                name = f"w{worker}-{index}"
                try:
                    await client.create(make_pod(name))
                except ApiError as exc:
                    # Not acknowledged, so not counted: the server died (or, on a loaded machine,
                    # the call outlived its deadline); this writer stops.
                    assert exc.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN,
                                        grpc.StatusCode.DEADLINE_EXCEEDED), exc
                    return
                acknowledged.append(name)
                index += 1

        await asyncio.gather(*(writer(w) for w in range(WRITERS)))


async def test_kill9_during_creates_loses_no_acknowledged_pod(tmp_path: Path) -> None:
    up = start_up(tmp_path, "--sim-nodes", "0")
    acknowledged: list[str] = []
    stop = asyncio.Event()
    writers = asyncio.create_task(_create_until_killed(up.address, acknowledged, stop))
    while len(acknowledged) < 300 and not writers.done():  # all writers stopped early: its error below
        await asyncio.sleep(0.05)
    assert not writers.done() or writers.exception() is None, writers.exception()
    up.kill(signal.SIGKILL)
    stop.set()
    await writers
    restarted = start_up(tmp_path, "--sim-nodes", "0")
    try:
        async with Client.connect(restarted.address) as client:
            items, _ = await client.list_all("pods")
        stored = {item.pod.metadata.name for item in items}
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} acknowledged pods lost, e.g. {sorted(missing)[:5]}"
        revisions = [item.pod.metadata.resource_version for item in items]
        assert len(set(revisions)) == len(revisions)
    finally:
        restarted.kill(signal.SIGTERM)


async def test_restart_with_same_data_dir_shows_everything(tmp_path: Path) -> None:
    up = start_up(tmp_path, "--sim-nodes", "0")
    async with Client.connect(up.address) as client:
        for index in range(10):
            await client.create(make_pod(f"p{index}"))
    assert up.kill(signal.SIGTERM) == 0
    again = start_up(tmp_path, "--sim-nodes", "0")
    try:
        async with Client.connect(again.address) as client:
            items, _ = await client.list_all("pods")
        assert sorted(item.pod.metadata.name for item in items) == [f"p{index}" for index in range(10)]
    finally:
        again.kill(signal.SIGTERM)
