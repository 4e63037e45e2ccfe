"""Choosing a Store backend from a spec string (``--store`` on the command line).

Specs:
  memory                          in-process, nothing persists
  sqlite                          the embedded default: the file ``data_dir / "atoll.db"``
  etcd://HOST:PORT[,HOST:PORT...] a real etcd cluster; endpoints tried in order

``open_store`` is async because reaching etcd is; it connects before returning, so a store it
returns is usable (StoreUnavailableError otherwise). Use the store on the event loop that opened it.
"""

from __future__ import annotations

from pathlib import Path

from controller.store.etcd import EtcdStore
from controller.store.memory import MemoryStore
from controller.store.protocol import Store
from controller.store.sqlite import SqliteStore

SQLITE_FILE_NAME = "atoll.db"
ACCEPTED_FORMS = "memory, sqlite, etcd://HOST:PORT[,HOST:PORT...]"


class StoreSpecError(ValueError):
    """A store spec that names no backend; the message lists the accepted forms."""


def parse_etcd_endpoints(spec: str) -> list[str]:
    """``etcd://h1:p1,h2:p2`` -> ``["h1:p1", "h2:p2"]``; StoreSpecError when malformed."""
    endpoints = [part.strip() for part in spec.removeprefix("etcd://").split(",")]
    for endpoint in endpoints:
        host, _, port = endpoint.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StoreSpecError(
                f"store spec {spec!r}: endpoint {endpoint!r} is not HOST:PORT (accepted: {ACCEPTED_FORMS})"
            )
    return endpoints


async def open_store(spec: str, data_dir: Path) -> Store:
    """Opens the backend ``spec`` names; raises StoreSpecError (a ValueError) for an unknown spec.

    ``data_dir`` is created if needed for sqlite and ignored by the other backends.
    """
    if spec == "memory":
        return MemoryStore()
    if spec == "sqlite":
        data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteStore(data_dir / SQLITE_FILE_NAME)
    if spec.startswith("etcd://"):
        store = EtcdStore(parse_etcd_endpoints(spec))
        await store.connect()
        return store
    raise StoreSpecError(f"unknown store spec {spec!r}: accepted forms are {ACCEPTED_FORMS}")
