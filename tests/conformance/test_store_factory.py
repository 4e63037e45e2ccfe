"""open_store: spec strings to backends, and one-line errors for specs that name none."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.store.etcd import EtcdStore
from controller.store.factory import ACCEPTED_FORMS, open_store, parse_etcd_endpoints
from controller.store.memory import MemoryStore
from controller.store.protocol import StoreUnavailableError
from controller.store.sqlite import SqliteStore
from tests.support.etcd_server import etcd_server, free_loopback_port
from tests.support.system import require_binary

BAD_SPECS = [
    pytest.param("", id="an empty spec is refused"),
    pytest.param("postgres", id="an unknown backend is refused"),
    pytest.param("SQLite", id="backend names are case-sensitive"),
    pytest.param("sqlite:///tmp/x.db", id="sqlite takes no path in the spec"),
    pytest.param("etcd://", id="etcd without endpoints is refused"),
    pytest.param("etcd://localhost", id="an etcd endpoint without port is refused"),
    pytest.param("etcd://localhost:http", id="an etcd endpoint with a non-numeric port is refused"),
    pytest.param("etcd://h1:2379,", id="an empty etcd endpoint in the list is refused"),
    pytest.param("etcd://h1:70000", id="an etcd port out of range is refused"),
]


@pytest.mark.parametrize("spec", BAD_SPECS)
async def test_a_bad_spec_raises_a_one_line_value_error_naming_it(spec: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as raised:
        await open_store(spec, tmp_path)
    message = str(raised.value)
    assert repr(spec) in message
    assert ACCEPTED_FORMS in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("spec", "endpoints"),
    [
        pytest.param("etcd://127.0.0.1:2379", ["127.0.0.1:2379"], id="one etcd endpoint"),
        pytest.param("etcd://h1:1,h2:2", ["h1:1", "h2:2"], id="several etcd endpoints in order"),
    ],
)
def test_etcd_specs_list_their_endpoints(spec: str, endpoints: list[str]) -> None:
    assert parse_etcd_endpoints(spec) == endpoints


async def test_memory_spec_opens_a_memory_store(tmp_path: Path) -> None:
    store = await open_store("memory", tmp_path)
    assert isinstance(store, MemoryStore)
    await store.close()


async def test_sqlite_spec_opens_atoll_db_in_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet"
    store = await open_store("sqlite", data_dir)
    try:
        assert isinstance(store, SqliteStore)
        assert store.path == data_dir / "atoll.db"
        assert (data_dir / "atoll.db").exists()
    finally:
        await store.close()


async def test_an_unreachable_etcd_raises_store_unavailable_naming_the_endpoint(tmp_path: Path) -> None:
    endpoint = f"127.0.0.1:{free_loopback_port()}"
    with pytest.raises(StoreUnavailableError, match=endpoint):
        await open_store(f"etcd://{endpoint}", tmp_path)


@pytest.mark.etcd
async def test_etcd_uses_the_first_endpoint_that_answers(etcd_endpoint: str, tmp_path: Path) -> None:
    dead = f"127.0.0.1:{free_loopback_port()}"
    store = await open_store(f"etcd://{dead},{etcd_endpoint}", tmp_path)
    try:
        assert isinstance(store, EtcdStore)
        assert await store.create("/failover", b"v") == 2
    finally:
        await store.close()


@pytest.mark.etcd
async def test_etcd_moves_to_the_next_endpoint_when_the_current_one_dies(tmp_path: Path) -> None:
    binary = require_binary("etcd", "etcd-server")
    with etcd_server(binary) as survivor:
        with etcd_server(binary) as doomed:
            store = await open_store(f"etcd://{doomed},{survivor}", tmp_path)
            await store.create("/on-doomed", b"v")
        try:
            with pytest.raises(StoreUnavailableError, match=doomed):
                await store.get("/on-doomed")
            # The next call reconnects, trying the following endpoint first (here: another cluster).
            assert await store.get("/on-doomed") is None
            assert await store.create("/on-survivor", b"v") == 2
        finally:
            await store.close()
