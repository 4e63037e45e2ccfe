"""Secrets are encrypted in the sqlite file: ``strings`` on the database (and its WAL) never
shows their data, a restart with the same key file reads them back, and a key rotation works."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from atoll.client import Client
from controller.apiserver.encryption import config as encryption_config
from controller.apiserver.server import start_api_server
from controller.store.sqlite import SqliteStore
from tests.support.config_objects import make_config_map, make_secret

SECRET_VALUE = b"never-in-the-store-file-9f3c"
CONFIG_VALUE = "plainly-in-the-store-file-77ab"


async def _serve(data_dir: Path, action: str) -> object:
    """Starts the API server on DATA_DIR's sqlite store with its key file, runs ``action``, stops."""
    encryption = encryption_config.load(encryption_config.ensure_key_file(data_dir))
    store = SqliteStore(data_dir / "atoll.db")
    try:
        api = await start_api_server(store, "127.0.0.1:0", compact_interval=None, encryption=encryption)
    except RuntimeError:
        await store.close()
        raise
    client = Client.connect(api.address)
    try:
        if action == "write":
            await client.create(make_secret("db", password=SECRET_VALUE))
            await client.create(make_config_map("web", **{"index.html": CONFIG_VALUE}))
            return None
        return (await client.get("secret", "db")).secret.data["password"]
    finally:
        await client.close()
        await api.stop(grace=0.1)
        await store.close()


def _store_bytes(data_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("atoll.db*")))


async def test_secret_data_is_not_in_the_store_file_and_survives_a_restart(tmp_path: Path) -> None:
    await _serve(tmp_path, "write")
    stored = _store_bytes(tmp_path)
    assert CONFIG_VALUE.encode() in stored, "the scan sees plaintext values (ConfigMaps are not encrypted)"
    assert SECRET_VALUE not in stored
    assert await _serve(tmp_path, "read") == SECRET_VALUE, "a second start reuses the key file"


async def test_rotation_add_a_key_first_restart_then_drop_the_old_one(tmp_path: Path) -> None:
    await _serve(tmp_path, "write")
    key_file = tmp_path / encryption_config.KEY_FILE_NAME
    document = yaml.safe_load(key_file.read_text())
    old = document["keys"][0]
    new = {"name": "key2", "secret": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
    key_file.write_text(yaml.safe_dump({"keys": [new]}))
    with pytest.raises(RuntimeError, match="default/db is encrypted with key 'key1'"):
        await _serve(tmp_path, "read")
    key_file.write_text(yaml.safe_dump({"keys": [new, old]}))
    assert await _serve(tmp_path, "read") == SECRET_VALUE  # this start rewrote the Secret under key2
    key_file.write_text(yaml.safe_dump({"keys": [new]}))
    assert await _serve(tmp_path, "read") == SECRET_VALUE
    assert SECRET_VALUE not in _store_bytes(tmp_path)
