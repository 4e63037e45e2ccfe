"""`atoll up --snapshot-interval SECONDS`: a snapshot of the store every interval, the newest
``--snapshot-keep`` kept, in ``--snapshot-dir`` (default DATA_DIR/snapshots).

Each file is what `atoll store snapshot save` writes (controller/storeops/snapshot.py), named by
its UTC time (``atoll-20261204T061500Z.snap``) so names sort by age; a file is written under a
temporary name and renamed, so an interrupted snapshot leaves no half file among the kept ones.
A failed snapshot is one log line and the next interval tries again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from controller.store.factory import parse_etcd_endpoints
from controller.storeops import snapshot

log = logging.getLogger(__name__)
PREFIX, SUFFIX = "atoll-", ".snap"


async def snapshot_periodically(
    store_spec: str, data_dir: Path, directory: Path, interval: float, keep: int, stop: asyncio.Event
) -> None:
    """Until ``stop``: every ``interval`` seconds one snapshot into ``directory``, then prune to ``keep``."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        try:
            async with asyncio.timeout(interval):
                await stop.wait()
            return
        except TimeoutError:
            pass
        name = f"{PREFIX}{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}"
        try:
            if store_spec.startswith("etcd://"):
                manifest = await snapshot.save_etcd(parse_etcd_endpoints(store_spec), directory / name)
            else:
                manifest = await snapshot.save_sqlite(data_dir, directory / name)
        except Exception as error:  # whatever it was, the next interval tries again
            log.warning("scheduled snapshot %s failed: %s", name, " ".join(str(error).split())[:300])
            continue
        log.info("scheduled snapshot %s: %s", name, manifest.summary())
        prune(directory, keep)


def prune(directory: Path, keep: int) -> list[Path]:
    """Deletes all but the newest ``keep`` snapshots this loop wrote; returns the deleted ones."""
    snapshots = sorted(path for path in directory.glob(f"{PREFIX}*{SUFFIX}") if path.is_file())
    doomed = snapshots[: max(0, len(snapshots) - keep)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed
