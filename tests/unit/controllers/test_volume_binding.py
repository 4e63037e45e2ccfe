"""The volume binding controller: provisioning (shared at once, local where the first consumer
runs), binding static volumes, protection finalizers, release and reclaim, Lost, expansion, and
the same state after a second pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from allinone.storage_classes import default_storage_classes
from atoll import storage
from atoll.clock import ManualClock
from atoll.v1 import node_pb2, object_pb2, pod_pb2, storage_pb2, virtualmachine_pb2
from controller.controllers.volume_binding.reconciler import VolumeBindingController
from controller.runtime import metrics
from controller.runtime.reconciler_runner import drain
from tests.support.fake_api import FakeApi
from tests.support.objects import make_claim
from tests.unit.controllers.builders import make_standalone_vm, node


@dataclass
class Harness:
    api: FakeApi
    controller: VolumeBindingController

    async def settle(self) -> None:
        await drain(self.controller)

    async def claim(self, name: str = "data") -> storage_pb2.PersistentVolumeClaim:
        return (await self.api.get("PersistentVolumeClaim", name, "default")).persistent_volume_claim

    async def volume(self, name: str) -> storage_pb2.PersistentVolume:
        return (await self.api.get("PersistentVolume", name, "")).persistent_volume

    async def volume_names(self) -> list[str]:
        items, _ = await self.api.list_all("PersistentVolume")
        return sorted(item.persistent_volume.metadata.name for item in items)

    async def reasons(self) -> list[str]:
        items, _ = await self.api.list_all("Event")
        return [item.event.reason for item in items]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    api = await FakeApi(ManualClock(1000.0)).setup()
    for storage_class in default_storage_classes():
        await api.create(storage_class)
    await api.create(node("n1"))
    controller = VolumeBindingController(
        api,
        api.informer(storage_pb2.PersistentVolumeClaim),
        api.informer(storage_pb2.PersistentVolume),
        api.informer(storage_pb2.StorageClass),
        {"Pod": api.informer(pod_pb2.Pod), "VirtualMachine": api.informer(virtualmachine_pb2.VirtualMachine)},
        api.informer(node_pb2.Node),
        api.clock,
    )
    await api.sync_informers()
    yield Harness(api, controller)


def vm_using(claim: str, node_name: str = "", name: str = "db") -> virtualmachine_pb2.VirtualMachine:
    vm = make_standalone_vm(name)
    del vm.spec.disks[:]
    vm.spec.disks.add(name="root", persistent_volume_claim=claim)
    vm.spec.node_name = node_name
    return vm


def static_volume(name: str, size: str, node_name: str = "n1") -> storage_pb2.PersistentVolume:
    volume = storage_pb2.PersistentVolume()
    volume.metadata.name = name
    volume.spec.capacity[storage.STORAGE] = size
    volume.spec.access_modes.append(storage.READ_WRITE_ONCE)
    volume.spec.storage_class_name = storage.LOCAL_CLASS
    volume.spec.local.path = name
    volume.spec.persistent_volume_reclaim_policy = storage.RECLAIM_RETAIN
    storage.pin_to_node(volume, node_name)
    return volume


async def test_a_shared_claim_is_provisioned_and_bound_at_once_and_a_second_pass_changes_nothing(
    harness: Harness,
) -> None:
    await harness.api.create(make_claim(storage_class=storage.SHARED_CLASS, modes=(storage.READ_WRITE_MANY,)))
    await harness.settle()
    claim = await harness.claim()
    volume = await harness.volume(f"pvc-{claim.metadata.uid}")
    assert (claim.status.phase, claim.spec.volume_name, claim.status.capacity["storage"]) == (
        "Bound",
        volume.metadata.name,
        "1Gi",
    )
    assert volume.status.phase == "Bound" and volume.spec.shared.path == volume.metadata.name
    assert storage.volume_node(volume) is None
    assert storage.CLAIM_PROTECTION_FINALIZER in claim.metadata.finalizers
    assert {storage.VOLUME_PROTECTION_FINALIZER, storage.VOLUME_DATA_FINALIZER} <= set(volume.metadata.finalizers)
    writes = len(harness.api.calls)
    harness.controller.queue.add("default/data")
    harness.controller.queue.add(volume.metadata.name)
    await harness.settle()
    assert len(harness.api.calls) == writes
    assert "ProvisioningSucceeded" in await harness.reasons()


async def test_a_local_claim_waits_for_its_first_consumer_and_is_provisioned_on_its_node(harness: Harness) -> None:
    await harness.api.create(make_claim())  # no class: the default, local
    await harness.settle()
    claim = await harness.claim()
    assert (claim.spec.storage_class_name, claim.status.phase, claim.status.reason) == (
        "local",
        "Pending",
        "WaitForFirstConsumer",
    )
    assert await harness.volume_names() == []
    await harness.api.create(vm_using("data", node_name="n1"))
    await harness.settle()
    claim = await harness.claim()
    assert claim.status.phase == "Bound"
    assert claim.metadata.annotations[storage.SELECTED_NODE_ANNOTATION] == "n1"
    volume = await harness.volume(claim.spec.volume_name)
    assert storage.volume_node(volume) == "n1" and volume.spec.local.path == volume.metadata.name


async def test_a_static_volume_binds_the_smallest_that_fits_on_the_consumers_node(harness: Harness) -> None:
    await harness.api.create(node("n2"))
    for volume in (static_volume("big", "10Gi"), static_volume("small", "2Gi"), static_volume("tiny", "512Mi"),
                   static_volume("elsewhere", "1Gi", node_name="n2")):
        await harness.api.create(volume)
    await harness.api.create(make_claim())
    await harness.api.create(vm_using("data", node_name="n1"))
    await harness.settle()
    claim = await harness.claim()
    assert (claim.status.phase, claim.spec.volume_name, claim.status.capacity["storage"]) == ("Bound", "small", "2Gi")
    assert (await harness.volume("small")).spec.claim_ref.name == "data"
    assert await harness.volume_names() == ["big", "elsewhere", "small", "tiny"]  # nothing provisioned


async def test_a_claim_in_use_is_deleted_only_after_its_workload_and_then_its_volume_is_released(
    harness: Harness,
) -> None:
    await harness.api.create(make_claim(storage_class=storage.SHARED_CLASS))
    await harness.api.create(vm_using("data"))
    await harness.settle()
    volume_name = (await harness.claim()).spec.volume_name
    await harness.api.delete("PersistentVolumeClaim", "data", "default")
    await harness.settle()
    claim = await harness.claim()
    assert claim.metadata.HasField("deletion_timestamp") and claim.status.phase == "Bound"
    await harness.api.delete("VirtualMachine", "db", "default")
    await harness.settle()
    assert harness.api.latest("PersistentVolumeClaim", "data", "default") is None
    volume = await harness.volume(volume_name)  # reclaim Delete: deleted, held until its node removed the data
    assert volume.metadata.HasField("deletion_timestamp") and volume.status.phase == "Released"
    assert list(volume.metadata.finalizers) == [storage.VOLUME_DATA_FINALIZER]
    assert {"VolumeReleased", "VolumeDeleted"} <= set(await harness.reasons())


async def test_a_retained_volume_stays_released_with_its_claim_reference(harness: Harness) -> None:
    await harness.api.create(static_volume("keep", "1Gi"))
    await harness.api.create(make_claim(storage_class=storage.LOCAL_CLASS))
    await harness.api.create(vm_using("data", node_name="n1"))
    await harness.settle()
    await harness.api.delete("VirtualMachine", "db", "default")
    await harness.api.delete("PersistentVolumeClaim", "data", "default")
    await harness.settle()
    volume = await harness.volume("keep")
    assert (volume.status.phase, volume.spec.claim_ref.name) == ("Released", "data")
    assert not volume.metadata.HasField("deletion_timestamp")


async def test_a_claim_whose_local_volume_node_is_gone_is_lost_with_a_warning(harness: Harness) -> None:
    await harness.api.create(make_claim())
    await harness.api.create(vm_using("data", node_name="n1"))
    await harness.settle()
    await harness.api.delete("Node", "n1", "")
    await harness.settle()
    claim = await harness.claim()
    assert (claim.status.phase, claim.status.reason) == ("Lost", "NodeLost")
    assert "ClaimLost" in await harness.reasons()


async def test_a_bigger_request_grows_the_volume_when_the_class_allows_it(harness: Harness) -> None:
    await harness.api.create(make_claim(storage_class=storage.SHARED_CLASS))
    await harness.settle()
    claim = await harness.claim()
    claim.spec.resources.requests["storage"] = "3Gi"
    await harness.api.update(claim)
    await harness.settle()
    claim = await harness.claim()
    assert claim.status.capacity["storage"] == "3Gi"
    assert (await harness.volume(claim.spec.volume_name)).spec.capacity["storage"] == "3Gi"
    assert "Resized" in await harness.reasons()


async def test_a_class_that_cannot_offer_the_access_mode_leaves_the_claim_pending_with_the_reason(
    harness: Harness,
) -> None:
    await harness.api.create(make_claim(modes=(storage.READ_WRITE_MANY,)))
    await harness.api.create(vm_using("data", node_name="n1"))
    await harness.settle()
    claim = await harness.claim()
    assert (claim.status.phase, claim.status.reason) == ("Pending", "ProvisioningFailed")
    assert "cannot offer ReadWriteMany" in claim.status.message
    assert await harness.volume_names() == []


async def test_a_deleted_shared_volume_loses_its_data_when_the_controller_has_the_shared_dir(
    harness: Harness, tmp_path: Path
) -> None:
    harness.controller.shared_dir = tmp_path
    await harness.api.create(make_claim(storage_class=storage.SHARED_CLASS))
    await harness.settle()
    volume_name = (await harness.claim()).spec.volume_name
    (tmp_path / volume_name).mkdir()
    (tmp_path / volume_name / "data").write_text("x")
    await harness.api.delete("PersistentVolumeClaim", "data", "default")
    await harness.settle()
    assert harness.api.latest("PersistentVolume", volume_name, "") is None
    assert list(tmp_path.iterdir()) == []


def provisioned_count() -> float:
    sample = metrics.REGISTRY.get_sample_value(
        "atoll_controller_volume_provisioning_seconds_count", {"provisioner": storage.LOCAL_PROVISIONER}
    )
    return sample or 0.0


async def test_a_local_volume_is_not_made_where_its_class_has_no_room_left(harness: Harness) -> None:
    provisioned_before = provisioned_count()
    roomy = node("n2")
    fast = storage.class_capacity_resource("fast")
    roomy.node.status.allocatable.update({storage.LOCAL_CAPACITY_RESOURCE: "3Gi", fast: "1Gi"})
    await harness.api.create(roomy)
    fast_class = storage_pb2.StorageClass(provisioner=storage.LOCAL_PROVISIONER,
                                          volume_binding_mode=storage.WAIT_FOR_FIRST_CONSUMER)
    fast_class.metadata.name = "fast"
    await harness.api.create(fast_class)
    await harness.api.create(make_claim("quick", "1Gi", "fast"))
    await harness.api.create(make_claim("more", "1Gi", "fast"))
    await harness.api.create(make_claim("bulk", "2Gi", storage.LOCAL_CLASS))  # the general room: fits
    for name in ("quick", "more", "bulk"):
        await harness.api.create(vm_using(name, node_name="n2", name=name))
    await harness.settle()
    assert (await harness.claim("quick")).status.phase == "Bound"
    assert (await harness.claim("bulk")).status.phase == "Bound"
    more = await harness.claim("more")
    assert (more.status.phase, more.status.reason) == ("Pending", "ProvisioningFailed")
    assert more.status.message == (
        f"node n2 has 0 bytes of {fast} left for class fast, the claim asks {1 << 30}"
    )
    assert "ProvisioningFailed" in await harness.reasons()
    assert len(await harness.volume_names()) == 2  # nothing half made for the claim that did not fit
    assert provisioned_count() == provisioned_before + 2


async def test_applying_a_claims_manifest_again_keeps_what_binding_wrote(harness: Harness) -> None:
    await harness.api.create(static_volume("static", "1Gi"))
    await harness.api.create(make_claim())  # no class, no volume: the controller writes both
    await harness.api.create(vm_using("data", node_name="n1"))
    await harness.settle()
    bound = await harness.claim()
    assert (bound.spec.storage_class_name, bound.spec.volume_name) == ("local", "static")
    again = await harness.api.registry.apply(object_pb2.Object(persistent_volume_claim=make_claim()))
    assert again.result == "unchanged"
    volume = storage_pb2.PersistentVolume()
    volume.CopyFrom(await harness.volume("static"))
    volume.spec.ClearField("claim_ref")
    assert (await harness.api.registry.apply(object_pb2.Object(persistent_volume=volume))).result == "unchanged"
    assert (await harness.volume("static")).spec.claim_ref.uid == bound.metadata.uid
