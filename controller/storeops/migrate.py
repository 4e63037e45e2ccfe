"""sqlite -> etcd: copy a stopped cluster's store onto an etcd cluster, verified.

Steps (``migrate``), each safe to repeat after Ctrl-C or kill -9:

1. Open DATA_DIR/atoll.db as the store (its lock proves no `atoll up` is serving it, and keeps one
   from starting meanwhile). The source is only read.
2. Refuse when the etcd cluster already holds keys, unless ``force`` (a rerun after an interrupted
   migration: the copy then overwrites what the source has).
3. Raise etcd's revision past the source's, writing a scratch key as often as needed (etcd has no
   other way to move its revision), so that every copied object's resource version is above every
   resource version the old cluster handed out.
4. Copy every key with its value byte for byte: an object keeps its UID, creation time, labels,
   status, and its Secrets' ciphertext (bring the data dir's encryption.yaml to the new API
   servers). Its resource version becomes the revision etcd gives the copy.
5. Compact etcd at the final revision, so that a client still watching from an old resource
   version is told to list again (OUT_OF_RANGE) instead of waiting for a revision that already
   passed; drop the scratch key before.
6. Verify: the same keys by kind and a SHA-256 over every (key, value) in order on both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from controller.store.etcd import EtcdStore
from controller.store.factory import SQLITE_FILE_NAME
from controller.store.protocol import KeyExistsError, KeyNotFoundError, Store, StoreUnavailableError
from controller.store.sqlite import SqliteStore
from controller.storeops.inventory import PAGE, count_keys

PAD_KEY = "/atoll-migration/revision-pad"
IN_FLIGHT = 64

Progress = Callable[[str], object]
T = TypeVar("T")


class MigrationError(Exception):
    """A migration that cannot start or did not verify; the message is one line."""


@dataclass(frozen=True)
class MigrationReport:
    keys: int
    by_kind: dict[str, int]
    source_revision: int
    target_revision: int
    padded: int
    sha256: str


async def migrate(
    data_dir: Path, endpoints: list[str], *, force: bool = False, progress: Progress = print
) -> MigrationReport:
    """Copies DATA_DIR/atoll.db into the etcd cluster at ``endpoints`` (see the module docstring)."""
    path = data_dir / SQLITE_FILE_NAME
    if not path.is_file():
        raise MigrationError(f"no sqlite store at {path}")
    try:
        source = SqliteStore(path)
    except StoreUnavailableError:
        raise MigrationError(f"{path} is in use: stop the `atoll up` serving it first") from None
    target = EtcdStore(endpoints)
    try:
        await target.connect()
        return await _copy(source, target, force, progress)
    finally:
        await target.close()
        await source.close()


async def _copy(source: SqliteStore, target: EtcdStore, force: bool, progress: Progress) -> MigrationReport:
    source_revision = await source.current_revision()
    existing = (await target.range("", limit=1)).items
    if existing and not force:
        held = sum((await count_keys(target, await target.current_revision())).values())
        raise MigrationError(
            f"the etcd cluster already holds {held} keys (from an interrupted migration? rerun with --force "
            "to overwrite them with the source's; or use an empty cluster)"
        )
    padded = await _raise_revision(target, source_revision, progress)
    copied = 0
    start_after: str | None = None
    while True:
        page = await source.range("", start_after=start_after, limit=PAGE, revision=source_revision)
        await _bounded(lambda item: _put(target, item.key, item.value), page.items)
        copied += len(page.items)
        progress(f"copied {copied} keys")
        if not page.more:
            break
        start_after = page.items[-1].key
    final = await target.current_revision()
    await target.compact(final)
    return await _verify(source, source_revision, target, final, padded)


async def _raise_revision(target: EtcdStore, source_revision: int, progress: Progress) -> int:
    needed = source_revision - await target.current_revision()
    if needed > 0:
        progress(f"raising etcd's revision by {needed} to pass the source's {source_revision}")
        await _bounded(lambda _: _put(target, PAD_KEY, b""), range(needed))
    with contextlib.suppress(KeyNotFoundError):
        await target.delete(PAD_KEY)
    return max(needed, 0)


async def _put(store: EtcdStore, key: str, value: bytes) -> int:
    """Creates or overwrites ``key``."""
    try:
        return await store.update(key, value)
    except KeyNotFoundError:
        try:
            return await store.create(key, value)
        except KeyExistsError:  # created meanwhile by a concurrent pad write: overwrite it
            return await store.update(key, value)


async def _bounded(write: Callable[[T], Awaitable[int]], items: Iterable[T]) -> None:
    """``write(item)`` for every item, IN_FLIGHT at a time."""
    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def one(item: T) -> None:
        async with semaphore:
            await write(item)

    await asyncio.gather(*(one(item) for item in items))


async def _verify(source: Store, source_revision: int, target: Store, final: int, padded: int) -> MigrationReport:
    source_counts = await count_keys(source, source_revision)
    target_counts = await count_keys(target, final)
    if source_counts != target_counts:
        raise MigrationError(f"verification failed: the source holds {source_counts}, etcd {target_counts}")
    source_sum = await _checksum(source, source_revision)
    target_sum = await _checksum(target, final)
    if source_sum != target_sum:
        raise MigrationError("verification failed: the keys match by kind but their contents differ (checksums)")
    return MigrationReport(sum(source_counts.values()), source_counts, source_revision, final, padded, source_sum)


async def _checksum(store: Store, revision: int) -> str:
    digest = hashlib.sha256()
    start_after: str | None = None
    while True:
        page = await store.range("", start_after=start_after, limit=PAGE, revision=revision)
        for item in page.items:
            digest.update(len(item.key).to_bytes(4, "big") + item.key.encode())
            digest.update(len(item.value).to_bytes(8, "big") + item.value)
        if not page.more:
            return digest.hexdigest()
        start_after = page.items[-1].key
