"""Fixtures for the one Store conformance suite: every test runs on memory, sqlite and etcd.

``store`` is a fresh, empty store opened through ``open_store`` (so the factory is exercised too);
for etcd each test gets its own etcd process, so revisions start at 1 everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from controller.store import fanout
from controller.store.factory import open_store
from controller.store.protocol import Store
from tests.support.etcd_server import etcd_server
from tests.support.system import require_binary

ALL_BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("etcd", id="etcd", marks=pytest.mark.etcd),
]
DURABLE_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("etcd", id="etcd", marks=pytest.mark.etcd),
]


@pytest.fixture
def etcd_endpoint() -> Iterator[str]:
    """A fresh single-member etcd ("127.0.0.1:PORT"), killed after the test."""
    with etcd_server(require_binary("etcd", "etcd-server")) as endpoint:
        yield endpoint


def _spec_for(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "etcd":
        return f"etcd://{request.getfixturevalue('etcd_endpoint')}"
    return backend


@pytest.fixture(params=ALL_BACKENDS)
def store_spec(request: pytest.FixtureRequest) -> str:
    """The open_store spec of a fresh backend: "memory", "sqlite" or "etcd://127.0.0.1:PORT"."""
    return _spec_for(request.param, request)


@pytest.fixture(params=DURABLE_BACKENDS)
def durable_store_spec(request: pytest.FixtureRequest) -> str:
    """Like store_spec, for the backends whose data outlives the Store object."""
    return _spec_for(request.param, request)


@pytest.fixture
async def store(store_spec: str, tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(store_spec, tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def tiny_watch_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forces the in-process fan-out (memory, sqlite) to page history in 8s and to overflow live
    queues past 16 events, so catch-up paging and lagging-watcher recovery are exercised.
    etcd ignores it."""
    monkeypatch.setattr(fanout, "HISTORY_PAGE", 8)
    monkeypatch.setattr(fanout, "DEFAULT_MAX_PENDING", 16)
