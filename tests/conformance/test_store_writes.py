"""Store conformance: revisions, create/update/delete and their failures, values as raw bytes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from controller.store.protocol import (
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Store,
    StoreError,
)


async def test_an_empty_store_is_at_revision_1(store: Store) -> None:
    assert await store.current_revision() == 1
    assert await store.get("/a") is None


async def test_every_successful_write_increments_the_revision_by_one(store: Store) -> None:
    created = await store.create("/a", b"1")
    updated = await store.update("/a", b"2")
    deleted = await store.delete("/a")
    assert (created, updated, deleted) == (2, 3, 4)
    assert await store.current_revision() == 4


async def test_get_reports_create_and_mod_revisions(store: Store) -> None:
    await store.create("/other", b"x")
    created = await store.create("/a", b"1")
    updated = await store.update("/a", b"2", expected_revision=created)
    assert await store.get("/a") == KeyValue("/a", b"2", create_revision=created, mod_revision=updated)


async def test_a_key_created_again_after_delete_gets_a_new_create_revision(store: Store) -> None:
    await store.create("/a", b"1")
    await store.delete("/a")
    assert await store.get("/a") is None
    recreated = await store.create("/a", b"2")
    assert await store.get("/a") == KeyValue("/a", b"2", recreated, recreated)


async def test_conditional_update_and_delete_succeed_when_the_revision_matches(store: Store) -> None:
    created = await store.create("/a", b"1")
    updated = await store.update("/a", b"2", expected_revision=created)
    deleted = await store.delete("/a", expected_revision=updated)
    assert deleted == updated + 1
    assert await store.get("/a") is None


@dataclass(frozen=True)
class FailingWrite:
    id: str
    setup: Callable[[Store], Awaitable[object]]
    write: Callable[[Store], Awaitable[object]]
    error: type[StoreError]


async def _create_a(store: Store) -> None:
    await store.create("/a", b"original")


async def _create_and_delete_a(store: Store) -> None:
    await store.create("/a", b"original")
    await store.delete("/a")


async def _nothing(store: Store) -> None:
    return None


FAILING_WRITES = [
    FailingWrite("create of an existing key raises KeyExistsError", _create_a,
                 lambda s: s.create("/a", b"new"), KeyExistsError),
    FailingWrite("update of a missing key raises KeyNotFoundError", _nothing,
                 lambda s: s.update("/a", b"new"), KeyNotFoundError),
    FailingWrite("delete of a missing key raises KeyNotFoundError", _nothing,
                 lambda s: s.delete("/a"), KeyNotFoundError),
    FailingWrite("update of a deleted key raises KeyNotFoundError", _create_and_delete_a,
                 lambda s: s.update("/a", b"new"), KeyNotFoundError),
    FailingWrite("update of a missing key with expected revision 0 raises KeyNotFoundError", _nothing,
                 lambda s: s.update("/a", b"new", expected_revision=0), KeyNotFoundError),
    FailingWrite("delete of a missing key with an expected revision raises KeyNotFoundError", _nothing,
                 lambda s: s.delete("/a", expected_revision=1), KeyNotFoundError),
    FailingWrite("update with a stale revision raises ConflictError", _create_a,
                 lambda s: s.update("/a", b"new", expected_revision=1), ConflictError),
    FailingWrite("update with a future revision raises ConflictError", _create_a,
                 lambda s: s.update("/a", b"new", expected_revision=99), ConflictError),
    FailingWrite("delete with a stale revision raises ConflictError", _create_a,
                 lambda s: s.delete("/a", expected_revision=1), ConflictError),
]  # fmt: skip


@pytest.mark.parametrize("case", FAILING_WRITES, ids=[case.id for case in FAILING_WRITES])
async def test_a_failed_write_raises_and_changes_nothing(store: Store, case: FailingWrite) -> None:
    await case.setup(store)
    revision_before = await store.current_revision()
    value_before = await store.get("/a")
    with pytest.raises(case.error):
        await case.write(store)
    assert await store.current_revision() == revision_before
    assert await store.get("/a") == value_before


VALUES = [
    pytest.param(b"", id="an empty value round-trips"),
    pytest.param(b"\x00\x00nul\x00", id="a value with NUL bytes round-trips"),
    pytest.param(bytes(range(256)), id="a value with every byte round-trips"),
    pytest.param(b"\xff\xfe\xc3(", id="a value that is not UTF-8 round-trips"),
    pytest.param(bytes(range(256)) * 4096, id="a 1 MiB value round-trips"),
]


@pytest.mark.parametrize("value", VALUES)
async def test_values_are_arbitrary_bytes(store: Store, value: bytes) -> None:
    created = await store.create("/bytes", value)
    got = await store.get("/bytes")
    assert got is not None and got.value == value
    listed = await store.range("/bytes")
    assert [kv.value for kv in listed.items] == [value]
    updated = await store.update("/bytes", value + b"!", expected_revision=created)
    got = await store.get("/bytes")
    assert got is not None and (got.value, got.mod_revision) == (value + b"!", updated)


KEYS = [
    pytest.param("/unicode/é/ü/日本", id="a key with non-ASCII characters round-trips"),
    pytest.param("/spaces and\ttabs", id="a key with whitespace round-trips"),
    pytest.param("/" + "k" * 1000, id="a 1000-character key round-trips"),
]


@pytest.mark.parametrize("key", KEYS)
async def test_keys_are_arbitrary_strings(store: Store, key: str) -> None:
    revision = await store.create(key, b"v")
    assert await store.get(key) == KeyValue(key, b"v", revision, revision)
    assert [kv.key for kv in (await store.range(key)).items] == [key]
