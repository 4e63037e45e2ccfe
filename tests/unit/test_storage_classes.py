"""`atoll up`'s StorageClasses: created when absent, left alone when present, twice in a row."""

from __future__ import annotations

from allinone.storage_classes import ensure_storage_classes
from atoll import storage
from atoll.clock import ManualClock
from tests.support.fake_api import FakeApi


async def test_the_default_classes_are_created_once_and_an_edited_one_is_kept() -> None:
    api = await FakeApi(ManualClock()).setup()
    assert await ensure_storage_classes(api) == ["local", "shared"]
    local = (await api.get("StorageClass", "local", "")).storage_class
    assert local.volume_binding_mode == storage.WAIT_FOR_FIRST_CONSUMER and storage.is_default_class(local)
    shared = (await api.get("StorageClass", "shared", "")).storage_class
    assert shared.provisioner == storage.SHARED_PROVISIONER and not storage.is_default_class(shared)
    shared.metadata.labels["edited"] = "yes"
    await api.update(shared)
    assert await ensure_storage_classes(api) == []
    assert (await api.get("StorageClass", "shared", "")).storage_class.metadata.labels["edited"] == "yes"
