"""Encryption at rest: the key file, the value format and the encrypting store decorator."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
import yaml

from controller.apiserver.encryption import config as encryption_config
from controller.apiserver.encryption.aesgcm import PREFIX, DecryptionError, Transformer
from controller.apiserver.encryption.config import EncryptionConfig, EncryptionConfigError, EncryptionKey
from controller.apiserver.encryption.store import EncryptingStore
from controller.store.memory import MemoryStore
from controller.store.protocol import EventType

SECRETS = "/atoll/secrets/"
KEY = SECRETS + "default/db"
PLAIN = b"password=hunter2"


def _config(*names: str) -> EncryptionConfig:
    return EncryptionConfig(tuple(EncryptionKey(name, name.encode().ljust(32, b"k")) for name in names))


def _write_keys(path: Path, keys: list[dict[str, str]]) -> Path:
    path.write_text(yaml.safe_dump({"kind": "EncryptionConfiguration", "keys": keys}))
    return path


def test_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    path = encryption_config.ensure_key_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = encryption_config.load(path)
    assert encryption_config.ensure_key_file(tmp_path) == path
    assert encryption_config.load(path) == first, "a second start reuses the key"
    assert len(first.write_key.secret) == 32
    assert "secret" not in repr(first) and base64.b64encode(first.write_key.secret).decode() not in repr(first)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        pytest.param([], "keys: required", id="no keys"),
        pytest.param([{"name": "Bad_Name", "secret": "AAAA"}], "keys[0].name: a lowercase DNS label", id="bad name"),
        pytest.param([{"name": "k1", "secret": "c2hvcnQ="}], "keys[0].secret: must be base64 of 16", id="short"),
        pytest.param([{"name": "k1", "secret": "!!!"}], "keys[0].secret: must be base64", id="not base64"),
        pytest.param(
            [{"name": "k1", "secret": base64.b64encode(b"x" * 32).decode()}] * 2, "listed twice", id="duplicate"
        ),
    ],
)
def test_bad_key_file_is_one_line_naming_the_field_and_never_the_key(
    tmp_path: Path, keys: list[dict[str, str]], expected: str
) -> None:
    path = _write_keys(tmp_path / "encryption.yaml", keys)
    with pytest.raises(EncryptionConfigError) as raised:
        encryption_config.load(path)
    assert expected in str(raised.value) and str(path) in str(raised.value)
    assert "\n" not in str(raised.value) and "c2hvcnQ=" not in str(raised.value)


def test_value_is_bound_to_its_store_key_and_names_its_key() -> None:
    transformer = Transformer(_config("new", "old"))
    sealed = transformer.encrypt(KEY, PLAIN)
    assert sealed.startswith(PREFIX + b"new:") and PLAIN not in sealed
    assert transformer.decrypt(KEY, sealed) == PLAIN
    with pytest.raises(DecryptionError, match="does not decrypt"):
        transformer.decrypt(SECRETS + "default/other", sealed)
    assert transformer.decrypt(KEY, PLAIN) == PLAIN, "values written before encryption read as they are"
    with pytest.raises(DecryptionError, match="key 'new', which the encryption config no longer lists"):
        Transformer(_config("old")).decrypt(KEY, sealed)


async def test_store_encrypts_only_its_prefixes_and_reads_back_plain() -> None:
    inner = MemoryStore()
    store = EncryptingStore(inner, Transformer(_config("k1")), (SECRETS,))
    watch = store.watch("/atoll/", 0)
    revision = await store.create(KEY, PLAIN)
    await store.create("/atoll/configmaps/default/web", PLAIN)
    await store.update(KEY, PLAIN + b"2", expected_revision=revision)
    raw = await inner.get(KEY)
    assert raw is not None and PLAIN not in raw.value
    assert (await inner.get("/atoll/configmaps/default/web")).value == PLAIN  # type: ignore[union-attr]
    assert (await store.get(KEY)).value == PLAIN + b"2"  # type: ignore[union-attr]
    assert [kv.value for kv in (await store.range("/atoll/")).items] == [PLAIN, PLAIN + b"2"]
    events = [await anext(watch) for _ in range(3)]
    assert [(e.type, e.kv.value, e.prev_value) for e in events] == [
        (EventType.PUT, PLAIN, None),
        (EventType.PUT, PLAIN, None),
        (EventType.PUT, PLAIN + b"2", PLAIN),
    ]
    await watch.aclose()
    await store.close()


async def test_rotation_rewrites_under_the_first_key_then_the_old_key_can_go() -> None:
    inner = MemoryStore()
    await inner.create(SECRETS + "default/legacy", PLAIN)  # written before encryption was on
    old = EncryptingStore(inner, Transformer(_config("old")), (SECRETS,))
    await old.create(KEY, PLAIN)
    with pytest.raises(DecryptionError, match="default/db is encrypted with key 'old'"):
        await EncryptingStore(inner, Transformer(_config("new")), (SECRETS,)).reencrypt()
    rotating = EncryptingStore(inner, Transformer(_config("new", "old")), (SECRETS,))
    assert await rotating.reencrypt() == 2
    assert await rotating.reencrypt() == 0, "a second pass has nothing to do"
    for kv in (await inner.range(SECRETS)).items:
        assert kv.value.startswith(PREFIX + b"new:")
    after = EncryptingStore(inner, Transformer(_config("new")), (SECRETS,))
    assert [kv.value for kv in (await after.range(SECRETS)).items] == [PLAIN, PLAIN]
    await inner.close()
