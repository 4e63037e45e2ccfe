"""Child process for the kill -9 test: creates keys on a sqlite store forever and prints
"KEY REVISION" on stdout (flushed) as soon as each create returns, i.e. once it is acknowledged.

    python -m tests.support.sqlite_kill9_child DB_PATH PREFIX [CONCURRENCY]

Several concurrent creators keep the group commit busy, so the kill lands mid-batch.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from pathlib import Path

from controller.store.sqlite import SqliteStore


async def create_forever(db_path: Path, prefix: str, concurrency: int) -> None:
    store = SqliteStore(db_path)
    counter = itertools.count()

    async def creator() -> None:
        while True:
            key = f"{prefix}{next(counter):08d}"
            revision = await store.create(key, key.encode() * 8)
            sys.stdout.write(f"{key} {revision}\n")
            sys.stdout.flush()

    await asyncio.gather(*(creator() for _ in range(concurrency)))


if __name__ == "__main__":
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    asyncio.run(create_forever(Path(sys.argv[1]), sys.argv[2], concurrency))
