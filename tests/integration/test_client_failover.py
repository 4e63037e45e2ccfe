"""A client given several API servers carries on when one goes away: calls go to the others, a
watch resumes from its last revision, TLS verifies every server by the shared name
atoll-apiserver; and when none answers, the CLI says so in one line naming every address."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from atoll import pki
from atoll.client import Client
from atoll.config import ClientConfig
from atoll.watch_events import ADDED
from controller.apiserver.auth.config import SecurityConfig
from controller.apiserver.server import ApiServer, start_api_server
from controller.store.memory import MemoryStore
from tests.support.atoll_cli import run_atoll
from tests.support.etcd_server import free_loopback_port
from tests.support.objects import make_pod

ARRIVAL_TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def servers(count: int, security: SecurityConfig | None = None) -> AsyncIterator[list[ApiServer]]:
    """``count`` API servers on one store, as several servers on one etcd cluster are."""
    store = MemoryStore()
    started = [
        await start_api_server(store, security=security, compact_interval=None, event_ttl=None) for _ in range(count)
    ]
    try:
        yield started
    finally:
        for server in started:
            await server.stop(0)


async def names_seen(client: Client, wanted: set[str], seen: list[str]) -> None:
    async for event in client.list_then_watch("pods"):
        if event.type == ADDED:
            seen.append(event.object.pod.metadata.name)
            if wanted <= set(seen):
                return


@pytest.mark.parametrize("tls", [False, True], ids=["plaintext", "mutual TLS"])
async def test_calls_and_watches_carry_on_when_one_server_stops(tmp_path: Path, tls: bool) -> None:
    security = None
    if tls:
        pki.ensure_pki(tmp_path / "pki")
        security = SecurityConfig.from_pki(tmp_path / "pki")
    async with servers(2, security) as (first, second):
        addresses = f"{first.address},{second.address}"
        config = ClientConfig(server=addresses)
        if tls:
            config = replace(pki.client_config(tmp_path / "pki", addresses), server=addresses)
        async with Client.connect(config) as client:
            await client.create(make_pod("before"))
            seen: list[str] = []
            watcher = asyncio.create_task(names_seen(client, {"before", "after"}, seen))
            try:
                await asyncio.sleep(0.3)
                await first.stop(0)
                await client.get("pods", "before")  # idempotent: retried onto the other server
                await client.create(make_pod("after"))
                await asyncio.wait_for(watcher, ARRIVAL_TIMEOUT)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            listed, _ = await client.list_all("pods")
    assert sorted(seen) == ["after", "before"]
    assert sorted(pod.pod.metadata.name for pod in listed) == ["after", "before"]


def atoll_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "ATOLL_CONFIG": str(home / "none.yaml")}
    return run_atoll(args, env=env)


async def test_cli_uses_a_live_server_behind_a_dead_one(tmp_path: Path) -> None:
    dead = f"127.0.0.1:{free_loopback_port()}"
    async with servers(1) as (live,):
        result = await asyncio.to_thread(atoll_cli, "--server", f"{dead},{live.address}", "get", "pods", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No resources found" in result.stdout + result.stderr


def test_cli_names_every_address_when_none_answers(tmp_path: Path) -> None:
    dead = [f"127.0.0.1:{free_loopback_port()}" for _ in range(2)]
    result = atoll_cli("--server", ",".join(dead), "get", "pods", home=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert all(address in lines[0] for address in dead)
