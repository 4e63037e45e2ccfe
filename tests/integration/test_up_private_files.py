"""Everything `atoll up` writes is private to its user: the data dir and every directory in it 0700,
every file 0600 (store, its WAL and SHM, audit log, tokens, certificates), while it runs and after;
a data dir that an older atoll left readable is tightened on start."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from atoll.client import Client
from tests.support.objects import make_pod
from tests.support.private_files import readable_by_others
from tests.support.up_process import admin_config, start_up


async def test_everything_up_writes_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    stale = data_dir / "notes.txt"
    stale.write_text("written by an older atoll\n")
    stale.chmod(0o644)
    up = start_up(data_dir, "--sim-nodes", "2", "--no-metrics", secure=True)
    try:
        async with Client.connect(admin_config(data_dir, up.address)) as client:
            await client.create(make_pod("p1"))
            await asyncio.sleep(0.5)  # let the fleet write the pod's status too
        written = {path.name for path in data_dir.iterdir()}
        assert {"atoll.db", "atoll.db-wal", "atoll.db-shm", "audit.log", "pki"} <= written
        assert not readable_by_others(data_dir), "while atoll up runs"
    finally:
        assert up.kill(signal.SIGINT) == 0
    assert not readable_by_others(data_dir), "after atoll up stopped"
