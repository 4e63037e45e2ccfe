"""Store snapshots: one file holding the backend's own copy of the data and a manifest of it.

The file is a tar archive of two members::

    manifest.json  {"format": 1, "backend": "sqlite" | "etcd", "createdAt": ISO-8601 UTC,
                    "revision": store revision at the copy, "keys": total, "keysByKind": {kind: keys},
                    "dataBytes": N, "dataSha256": hex}
    data           sqlite: the database file as SQLite's online backup API copies it (the store
                   may be serving meanwhile); etcd: etcd's own snapshot (Maintenance.Snapshot)

Saving writes a temporary file and renames it, so FILE is whole or absent. Reading checks, in
order: a tar with both members, a format this code reads (a newer one is refused naming the format
it needs), the data's size and SHA-256. Restoring an sqlite snapshot writes DATA_DIR/atoll.db
(refused when one is there: restore into a fresh data dir) and checks the key counts against the
manifest; an etcd snapshot is restored into a new member data dir by
etcd's own ``etcdctl snapshot restore``. Secrets stay encrypted inside: keep the data dir's
``encryption.yaml`` with the snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from controller.store.etcd import EtcdStore
from controller.store.factory import SQLITE_FILE_NAME
from controller.store.sqlite import SqliteStore
from controller.storeops.inventory import count_keys

FORMAT = 1
MANIFEST_MEMBER = "manifest.json"
DATA_MEMBER = "data"
_CHUNK = 1024 * 1024


class SnapshotError(Exception):
    """A snapshot that cannot be made, read or restored; the message is one line."""


@dataclass(frozen=True)
class Manifest:
    """What a snapshot holds (see the module docstring for the JSON names)."""

    format: int
    backend: str
    createdAt: str
    revision: int
    keys: int
    keysByKind: dict[str, int]
    dataBytes: int
    dataSha256: str

    def summary(self) -> str:
        return (
            f"{self.backend} snapshot of revision {self.revision}: {self.keys} keys, "
            f"{self.dataBytes} bytes, sha256 {self.dataSha256[:12]}..., taken {self.createdAt}"
        )


async def save_sqlite(data_dir: Path, file: Path) -> Manifest:
    """Snapshot DATA_DIR/atoll.db (while it serves, too) into ``file``."""
    source = data_dir / SQLITE_FILE_NAME
    if not source.is_file():
        raise SnapshotError(f"no sqlite store at {source}")
    with _scratch_dir(file) as scratch:
        copy = scratch / SQLITE_FILE_NAME
        await asyncio.to_thread(_sqlite_backup, source, copy)
        store = SqliteStore(copy)
        try:
            revision = await store.current_revision()
            counts = await count_keys(store, revision)
        finally:
            await store.close()
        for leftover in scratch.glob(f"{SQLITE_FILE_NAME}?*"):  # -wal, -shm, .lock of the copy
            leftover.unlink()
        return _write_snapshot(file, "sqlite", copy, revision, counts)


async def save_etcd(endpoints: Sequence[str], file: Path) -> Manifest:
    """Snapshot the etcd cluster at ``endpoints`` into ``file`` (etcd's own snapshot)."""
    store = EtcdStore(endpoints)
    try:
        await store.connect()
        revision = await store.current_revision()
        counts = await count_keys(store, revision)
        with _scratch_dir(file) as scratch:
            data = scratch / DATA_MEMBER
            with data.open("wb") as out:
                await store.snapshot(out)
            return _write_snapshot(file, "etcd", data, revision, counts)
    finally:
        await store.close()


def read_manifest(file: Path) -> Manifest:
    """The manifest of ``file`` after checking format, size and checksum of its data."""
    with _opened(file) as (manifest, data):
        _check_data(file, manifest, data)
    return manifest


async def restore_sqlite(file: Path, data_dir: Path) -> Manifest:
    """Writes the snapshot's database as DATA_DIR/atoll.db (which must not exist) and checks the
    restored key counts against the manifest."""
    target = data_dir / SQLITE_FILE_NAME
    with _opened(file) as (manifest, data):
        _require_backend(file, manifest, "sqlite")
        _check_data(file, manifest, data)
        if target.exists():
            raise SnapshotError(f"{target} exists: restore into a new data dir, or move it away first")
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = data_dir / f".{SQLITE_FILE_NAME}.restoring"
        with partial.open("wb") as out:
            data.seek(0)
            shutil.copyfileobj(data, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
    partial.chmod(0o600)
    os.replace(partial, target)
    await _verify_restored(target, manifest)
    return manifest


def restore_etcd(
    file: Path, member_data_dir: Path, etcdctl_args: Sequence[str] = (), etcdctl: str = "etcdctl"
) -> Manifest:
    """Runs ``etcdctl snapshot restore`` on the snapshot's data into ``member_data_dir`` (which
    must not exist), passing ``etcdctl_args`` (--name, --initial-cluster, ...) through."""
    if member_data_dir.exists():
        raise SnapshotError(f"{member_data_dir} exists: etcd restores into a new member data dir")
    binary = shutil.which(etcdctl)
    if binary is None:
        raise SnapshotError(f"{etcdctl} not found: install etcd's client tools (Debian: etcd-client)")
    with _opened(file) as (manifest, data), _scratch_dir(member_data_dir) as scratch:
        _require_backend(file, manifest, "etcd")
        _check_data(file, manifest, data)
        payload = scratch / "etcd.snapshot"
        with payload.open("wb") as out:
            data.seek(0)
            shutil.copyfileobj(data, out, _CHUNK)
        result = subprocess.run(
            [binary, "snapshot", "restore", str(payload), f"--data-dir={member_data_dir}", *etcdctl_args],
            capture_output=True,
            text=True,
            env={**os.environ, "ETCDCTL_API": "3"},
            check=False,
        )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise SnapshotError(f"etcdctl snapshot restore failed: {last}")
    return manifest


def _sqlite_backup(source: Path, copy: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as err:
        raise SnapshotError(f"cannot copy {source}: {err}") from None
    finally:
        src.close()


async def _verify_restored(target: Path, manifest: Manifest) -> None:
    store = SqliteStore(target)
    try:
        counts = await count_keys(store, manifest.revision)
    finally:
        await store.close()
    if counts != manifest.keysByKind:
        raise SnapshotError(f"restored {target} holds {counts}, the manifest says {manifest.keysByKind}")


def _write_snapshot(file: Path, backend: str, data: Path, revision: int, counts: dict[str, int]) -> Manifest:
    manifest = Manifest(
        format=FORMAT,
        backend=backend,
        createdAt=datetime.now(UTC).isoformat(timespec="seconds"),
        revision=revision,
        keys=sum(counts.values()),
        keysByKind=counts,
        dataBytes=data.stat().st_size,
        dataSha256=_sha256_of_path(data),
    )
    encoded = json.dumps(asdict(manifest), indent=2, sort_keys=True).encode()
    partial = file.with_name(f".{file.name}.partial")
    with tarfile.open(partial, "w") as archive:
        info = tarfile.TarInfo(MANIFEST_MEMBER)
        info.size = len(encoded)
        archive.addfile(info, io.BytesIO(encoded))
        archive.add(data, arcname=DATA_MEMBER)
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, file)
    return manifest


@contextlib.contextmanager
def _opened(file: Path) -> Iterator[tuple[Manifest, IO[bytes]]]:
    try:
        archive = tarfile.open(file, "r:")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise SnapshotError(f"{file}: no such file") from None
    except (tarfile.TarError, OSError) as err:
        raise SnapshotError(f"{file} is not an atoll snapshot ({err})") from None
    with archive:
        manifest = _manifest_of(file, archive)
        try:
            data = archive.extractfile(DATA_MEMBER)
        except KeyError:
            data = None
        if data is None:
            raise SnapshotError(f"{file} is not an atoll snapshot: it has no {DATA_MEMBER} member")
        yield manifest, data


def _manifest_of(file: Path, archive: tarfile.TarFile) -> Manifest:
    try:
        member = archive.extractfile(MANIFEST_MEMBER)
        raw: Any = json.loads(member.read()) if member is not None else None
    except (KeyError, ValueError, tarfile.TarError):
        raw = None
    if not isinstance(raw, dict) or not isinstance(raw.get("format"), int):
        raise SnapshotError(f"{file} is not an atoll snapshot: no readable {MANIFEST_MEMBER}")
    if raw["format"] > FORMAT:
        raise SnapshotError(
            f"{file} has snapshot format {raw['format']}; this atoll reads format {FORMAT}: "
            f"restore it with an atoll that reads format {raw['format']}"
        )
    try:
        return Manifest(**raw)
    except TypeError:
        raise SnapshotError(f"{file}: {MANIFEST_MEMBER} lacks fields of format {FORMAT}") from None


def _check_data(file: Path, manifest: Manifest, data: IO[bytes]) -> None:
    digest, size = hashlib.sha256(), 0
    data.seek(0)
    while chunk := data.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    if size != manifest.dataBytes or digest.hexdigest() != manifest.dataSha256:
        raise SnapshotError(
            f"{file} is corrupt: its data has {size} bytes and sha256 {digest.hexdigest()[:12]}..., "
            f"the manifest says {manifest.dataBytes} and {manifest.dataSha256[:12]}..."
        )


def _require_backend(file: Path, manifest: Manifest, backend: str) -> None:
    if manifest.backend != backend:
        raise SnapshotError(f"{file} is a snapshot of {manifest.backend}, not {backend}")


def _sha256_of_path(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _scratch_dir(near: Path) -> Iterator[Path]:
    """A private temporary directory beside ``near`` (same file system: renames stay atomic)."""
    near.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{near.name}.", dir=near.parent))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
