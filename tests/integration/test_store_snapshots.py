"""`atoll store snapshot`: save a serving sqlite store and an etcd cluster, restore each into a new
data dir and find every key with its value; corrupt, newer-format and misdirected restores are one
line each and change nothing."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from atoll.client import Client
from controller.apiserver.server import start_api_server
from controller.store.etcd import EtcdStore
from controller.store.factory import open_store
from controller.store.protocol import Store
from controller.store.sqlite import SqliteStore
from controller.storeops import snapshot
from tests.support.atoll_cli import run_atoll
from tests.support.etcd_cluster import EtcdCluster, Member
from tests.support.etcd_server import etcd_server, free_loopback_port
from tests.support.objects import make_pod
from tests.support.system import require_binary
from tests.support.up_process import start_up


async def all_items(store: Store) -> dict[str, bytes]:
    page = await store.range("")
    assert not page.more
    return {item.key: item.value for item in page.items}


async def fill(store: Store, pods: int = 5) -> None:
    """Objects written as the API writes them (namespaces, pods, with UIDs)."""
    server = await start_api_server(store, compact_interval=None, event_ttl=None)
    try:
        async with Client.connect(server.address) as client:
            for index in range(pods):
                await client.create(make_pod(f"p{index}"))
    finally:
        await server.stop(0)


def atoll(*args: str) -> subprocess.CompletedProcess[str]:
    return run_atoll(args, default=120)


@pytest.fixture
async def serving_sqlite(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_store("sqlite", tmp_path / "data")
    assert isinstance(store, SqliteStore)
    await fill(store)
    yield store
    await store.close()


async def test_sqlite_snapshot_of_a_serving_store_restores_into_a_new_data_dir(
    serving_sqlite: SqliteStore, tmp_path: Path
) -> None:
    file = tmp_path / "backup.snap"
    saved = atoll("store", "snapshot", "save", str(file), "--data-dir", str(tmp_path / "data"))
    assert saved.returncode == 0, saved.stderr
    again = atoll("store", "snapshot", "save", str(file), "--data-dir", str(tmp_path / "data"))
    assert again.returncode == 0, again.stderr
    restored = atoll("store", "snapshot", "restore", str(file), "--data-dir", str(tmp_path / "fresh"))
    assert restored.returncode == 0, restored.stderr
    assert "verified" in restored.stdout
    copy = SqliteStore(tmp_path / "fresh" / "atoll.db")
    try:
        assert await all_items(copy) == await all_items(serving_sqlite)
        manifest = snapshot.read_manifest(file)
        assert manifest.keysByKind["Pod"] == 5
        assert await copy.current_revision() == manifest.revision
    finally:
        await copy.close()
    refused = atoll("store", "snapshot", "restore", str(file), "--data-dir", str(tmp_path / "fresh"))
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "exists" in refused.stderr


def rewrite(file: Path, manifest_change: dict[str, object] | None = None, flip_data: bool = False) -> None:
    with tarfile.open(file) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        data = bytearray(archive.extractfile("data").read())  # type: ignore[union-attr]
    manifest.update(manifest_change or {})
    if flip_data:
        data[len(data) // 2] ^= 0xFF
    with tarfile.open(file, "w") as archive:
        for name, body in (("manifest.json", json.dumps(manifest).encode()), ("data", bytes(data))):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"flip_data": True}, "is corrupt", id="a flipped byte"),
        pytest.param({"manifest_change": {"format": 9}}, "format 9; this atoll reads format 1", id="a newer format"),
        pytest.param({"manifest_change": {"backend": "etcd"}}, "of etcd, not sqlite", id="another backend"),
    ],
)
async def test_a_bad_snapshot_is_refused_in_one_line_and_nothing_is_written(
    serving_sqlite: SqliteStore, tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    file = tmp_path / "backup.snap"
    await snapshot.save_sqlite(tmp_path / "data", file)
    rewrite(file, **change)  # type: ignore[arg-type]
    result = atoll("store", "snapshot", "restore", str(file), "--data-dir", str(tmp_path / "fresh"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert not (tmp_path / "fresh" / "atoll.db").exists()


def test_not_a_snapshot_is_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\0" * 10 + b"not a tar")
    result = atoll("store", "snapshot", "inspect", str(junk))
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.etcd
async def test_etcd_snapshot_restores_with_etcds_own_tool(tmp_path: Path) -> None:
    require_binary("etcd", "etcd-server")
    require_binary("etcdctl", "etcd-client")
    file = tmp_path / "etcd.snap"
    with etcd_server() as endpoint:
        store = EtcdStore([endpoint])
        await store.connect()
        try:
            await fill(store)
            original = await all_items(store)
        finally:
            await store.close()
        saved = atoll("store", "snapshot", "save", str(file), "--store", f"etcd://{endpoint}")
        assert saved.returncode == 0, saved.stderr
    member = Member("restored", free_loopback_port(), free_loopback_port())
    peer = f"http://127.0.0.1:{member.peer_port}"
    result = atoll(
        "store", "snapshot", "restore", str(file), "--etcd-data-dir", str(tmp_path / member.name),
        "--name", member.name, "--initial-cluster", f"{member.name}={peer}", "--initial-advertise-peer-urls", peer,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    restored = EtcdCluster(shutil.which("etcd") or "etcd", tmp_path, [member])
    restored.start(0, state="existing")
    try:
        restored.wait_healthy([0])
        store = EtcdStore(restored.endpoints)
        await store.connect()
        try:
            assert await all_items(store) == original
        finally:
            await store.close()
    finally:
        restored.kill(0)


def test_atoll_up_takes_scheduled_snapshots_and_keeps_the_newest(tmp_path: Path) -> None:
    up = start_up(tmp_path / "data", "--sim-nodes", "0", "--no-metrics", "--snapshot-interval", "0.5",
                  "--snapshot-keep", "2")  # fmt: skip
    try:
        directory = tmp_path / "data" / "snapshots"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            taken = sorted(directory.glob("atoll-*.snap"))
            if len(taken) == 2 and (tmp_path / "data" / "snapshots").exists():
                break
            time.sleep(0.2)
        time.sleep(2)  # more intervals pass: still only the newest two
        taken = sorted(directory.glob("atoll-*.snap"))
    finally:
        up.kill()
    assert len(taken) == 2, taken
    manifest = snapshot.read_manifest(taken[-1])
    assert manifest.backend == "sqlite" and manifest.keysByKind.get("Namespace", 0) >= 1
