"""A node's side of persistent volumes: claims resolved to data on this node (or refused with the
reason), the data made atomically on first use and found again, never outside the volume dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.volumes.claims import ClaimNotReady, ClaimUnusable, VolumeDirs, resolve_claim
from agent.volumes.reclaimer import VolumeReclaimer
from atoll import storage
from atoll.clock import ManualClock
from atoll.v1 import storage_pb2
from atoll.volume_data import VolumePathError, ensure_volume, remove_volume, sweep_temporaries, volume_path
from tests.support.fake_api import FakeApi


def test_a_filesystem_volume_is_a_directory_made_once_and_kept(tmp_path: Path) -> None:
    path = ensure_volume(tmp_path / "pvc-1", block=False, size=1 << 30)
    (path / "data.txt").write_text("kept")
    assert ensure_volume(tmp_path / "pvc-1", block=False, size=1 << 30) == path
    assert (path / "data.txt").read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["pvc-1"]


def test_a_block_volume_is_a_sparse_file_of_its_size(tmp_path: Path) -> None:
    path = ensure_volume(tmp_path / "pvc-2", block=True, size=64 << 20)
    assert path.stat().st_size == 64 << 20
    assert path.stat().st_blocks * 512 < 1 << 20  # sparse


def test_removal_and_leftovers_of_an_interrupted_run_are_swept(tmp_path: Path) -> None:
    path = ensure_volume(tmp_path / "pvc-3", block=False, size=1)
    (tmp_path / ".tmp-pvc-4.0123abcd").mkdir()  # what a kill -9 during ensure leaves
    remove_volume(path)
    remove_volume(path)  # a second time: nothing to do
    sweep_temporaries(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../etc", "a/b", ".hidden", "", "-x", "/abs"])
def test_a_volume_path_is_one_plain_name_inside_its_dir(tmp_path: Path, name: str) -> None:
    with pytest.raises(VolumePathError):
        volume_path(tmp_path, name)


async def cluster_with(volume_source: str, node: str = "n1", bound: bool = True) -> FakeApi:
    api = await FakeApi(ManualClock()).setup()
    claim = storage_pb2.PersistentVolumeClaim()
    claim.metadata.name, claim.metadata.namespace = "data", "default"
    claim.spec.access_modes.append(storage.READ_WRITE_ONCE)
    claim.spec.resources.requests[storage.STORAGE] = "1Gi"
    stored = (await api.create(claim)).persistent_volume_claim
    volume = storage_pb2.PersistentVolume()
    volume.metadata.name = "pv-1"
    volume.spec.capacity[storage.STORAGE] = "1Gi"
    volume.spec.access_modes.append(storage.READ_WRITE_ONCE)
    if volume_source == "local":
        volume.spec.local.path = "pv-1"
        storage.pin_to_node(volume, node)
    else:
        volume.spec.shared.path = "pv-1"
    volume.spec.claim_ref.namespace, volume.spec.claim_ref.name = "default", "data"
    volume.spec.claim_ref.uid = stored.metadata.uid
    await api.create(volume)
    if bound:
        stored.spec.volume_name = "pv-1"
        stored = (await api.update(stored)).persistent_volume_claim
        stored.status.phase = storage.CLAIM_BOUND
        await api.update_status(stored)
    return api


async def test_a_bound_local_claim_resolves_to_its_directory_on_its_node(tmp_path: Path) -> None:
    api = await cluster_with("local")
    volume = await resolve_claim(api, "default", "data", "n1", VolumeDirs(tmp_path / "local", tmp_path / "shared"))
    assert volume.path == tmp_path / "local" / "pv-1" and volume.path.is_dir()
    assert (volume.volume, volume.block, volume.size) == ("pv-1", False, 1 << 30)


async def test_a_shared_claim_resolves_in_the_shared_dir_and_needs_one(tmp_path: Path) -> None:
    api = await cluster_with("shared")
    volume = await resolve_claim(api, "default", "data", "n2", VolumeDirs(tmp_path / "local", tmp_path / "shared"))
    assert volume.path == tmp_path / "shared" / "pv-1"
    with pytest.raises(ClaimUnusable, match="this node has no shared dir"):
        await resolve_claim(api, "default", "data", "n2", VolumeDirs(tmp_path / "local"))


async def test_a_local_volume_on_another_node_is_unusable_here(tmp_path: Path) -> None:
    api = await cluster_with("local", node="n2")
    with pytest.raises(ClaimUnusable, match="claim data's volume pv-1 is on node n2, not on n1"):
        await resolve_claim(api, "default", "data", "n1", VolumeDirs(tmp_path))
    assert not (tmp_path / "pv-1").exists()


async def test_a_pending_or_missing_claim_waits(tmp_path: Path) -> None:
    api = await cluster_with("local", bound=False)
    with pytest.raises(ClaimNotReady, match="claim data is Pending"):
        await resolve_claim(api, "default", "data", "n1", VolumeDirs(tmp_path))
    with pytest.raises(ClaimNotReady, match="claim nope not found"):
        await resolve_claim(api, "default", "nope", "n1", VolumeDirs(tmp_path))


async def test_a_simulated_node_checks_the_claim_and_makes_no_data(tmp_path: Path) -> None:
    api = await cluster_with("local")
    assert (await resolve_claim(api, "default", "data", "n1", None)).path is None


async def test_the_reclaimer_removes_a_deleted_local_volumes_data_then_its_finalizer(tmp_path: Path) -> None:
    api = await FakeApi(ManualClock()).setup()
    volume = storage_pb2.PersistentVolume()
    volume.metadata.name = "pvc-1"
    volume.metadata.finalizers.append(storage.VOLUME_DATA_FINALIZER)
    volume.spec.capacity[storage.STORAGE] = "1Gi"
    volume.spec.access_modes.append(storage.READ_WRITE_ONCE)
    volume.spec.local.path = "pvc-1"
    storage.pin_to_node(volume, "n1")
    await api.create(volume)
    ensure_volume(tmp_path / "pvc-1", block=False, size=1)
    await api.delete("PersistentVolume", "pvc-1", "")
    deleted = (await api.get("PersistentVolume", "pvc-1", "")).persistent_volume
    elsewhere = VolumeReclaimer(api, lambda node: node == "n2", VolumeDirs(tmp_path))
    assert not elsewhere.mine(deleted)
    reclaimer = VolumeReclaimer(api, lambda node: node == "n1", VolumeDirs(tmp_path))
    assert reclaimer.mine(deleted)
    await reclaimer.reclaim(deleted)
    assert not (tmp_path / "pvc-1").exists()
    assert api.latest("PersistentVolume", "pvc-1", "") is None
