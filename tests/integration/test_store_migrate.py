"""`atoll store migrate`: a stopped sqlite cluster's objects move onto a 3-member etcd cluster with
their identity, resource versions above every one the old cluster handed out, verified; a running
source, a non-empty target and a second run are refused in one line; --force completes a rerun."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from atoll.client import Client
from controller.apiserver.server import start_api_server
from controller.store.etcd import EtcdStore
from controller.store.factory import open_store
from controller.store.sqlite import SqliteStore
from tests.support.atoll_cli import run_atoll
from tests.support.etcd_cluster import etcd_cluster
from tests.support.objects import make_pod
from tests.support.system import require_binary

pytestmark = pytest.mark.etcd


def atoll(*args: str) -> subprocess.CompletedProcess[str]:
    return run_atoll(args, default=300)


async def pods_by_name(client: Client) -> dict[str, tuple[str, int, int]]:
    """name -> (uid, creation seconds, resource version)."""
    pods, _ = await client.list_all("pods")
    return {
        pod.pod.metadata.name: (
            pod.pod.metadata.uid,
            pod.pod.metadata.creation_timestamp.seconds,
            pod.pod.metadata.resource_version,
        )
        for pod in pods
    }


async def test_sqlite_cluster_moves_onto_etcd_with_identity_and_newer_revisions(tmp_path: Path) -> None:
    require_binary("etcd", "etcd-server")
    data = tmp_path / "data"
    source = await open_store("sqlite", data)
    server = await start_api_server(source, compact_interval=None, event_ttl=None)
    async with Client.connect(server.address) as client:
        for index in range(20):
            await client.create(make_pod(f"p{index}"))
        for index in range(10):  # history: the source's revision runs ahead of its key count
            pod = (await client.get("pods", "p0")).pod
            pod.metadata.labels["round"] = str(index)
            await client.update(pod)
        before = await pods_by_name(client)
    await server.stop(0)
    source_revision = await source.current_revision()

    with etcd_cluster(3) as cluster:
        target = "etcd://" + ",".join(cluster.endpoints)
        held = atoll("store", "migrate", "--from", str(data), "--to", target)
        assert held.returncode == 1 and "in use" in held.stderr and held.stderr.count("\n") == 1, held.stderr
        await source.close()

        moved = atoll("store", "migrate", "--from", str(data), "--to", target)
        assert moved.returncode == 0, moved.stderr
        assert "verified counts and sha256" in moved.stdout
        again = atoll("store", "migrate", "--from", str(data), "--to", target)
        assert again.returncode == 1 and "already holds" in again.stderr and again.stderr.count("\n") == 1
        forced = atoll("store", "migrate", "--from", str(data), "--to", target, "--force")
        assert forced.returncode == 0, forced.stderr

        store = EtcdStore(cluster.endpoints)
        await store.connect()
        server = await start_api_server(store, compact_interval=None, event_ttl=None)
        try:
            async with Client.connect(server.address) as client:
                after = await pods_by_name(client)
        finally:
            await server.stop(0)
            await store.close()
    assert {name: identity[:2] for name, identity in after.items()} == {
        name: identity[:2] for name, identity in before.items()
    }
    assert min(identity[2] for identity in after.values()) > source_revision
    reread = SqliteStore(data / "atoll.db")
    try:
        assert await reread.current_revision() == source_revision
    finally:
        await reread.close()
