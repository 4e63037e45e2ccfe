"""VolumeBinding: a workload goes where its claims' volumes are or can be made, and waits with the
reason otherwise (a missing or Lost claim, a ReadWriteOnce claim in use on another node, a local
volume on another node, no node with room for a new local volume)."""

from __future__ import annotations

from allinone.storage_classes import default_storage_classes
from atoll import storage
from atoll.v1 import storage_pb2
from scheduler.core import Placement, Unschedulable
from scheduler.volumes import LOCAL_CAPACITY, claim_facts, volume_facts
from tests.unit.scheduler.builders import make_node, make_vm
from tests.unit.scheduler.harness import Harness


def claim(
    name: str = "data",
    size: str = "10Gi",
    storage_class: str = storage.LOCAL_CLASS,
    volume: str = "",
    phase: str = "Pending",
    modes: tuple[str, ...] = (storage.READ_WRITE_ONCE,),
) -> storage_pb2.PersistentVolumeClaim:
    message = storage_pb2.PersistentVolumeClaim()
    message.metadata.name, message.metadata.namespace = name, "default"
    message.spec.access_modes.extend(modes)
    message.spec.resources.requests[storage.STORAGE] = size
    message.spec.storage_class_name, message.spec.volume_name = storage_class, volume
    message.status.phase = phase
    return message


def local_volume(name: str, node: str, size: str = "10Gi") -> storage_pb2.PersistentVolume:
    volume = storage_pb2.PersistentVolume()
    volume.metadata.name = name
    volume.spec.capacity[storage.STORAGE] = size
    volume.spec.local.path = name
    storage.pin_to_node(volume, node)
    return volume


def shared_volume(name: str) -> storage_pb2.PersistentVolume:
    volume = storage_pb2.PersistentVolume()
    volume.metadata.name = name
    volume.spec.capacity[storage.STORAGE] = "10Gi"
    volume.spec.shared.path = name
    return volume


def cluster(*claims: storage_pb2.PersistentVolumeClaim, room: str = "100Gi") -> Harness:
    harness = Harness(
        make_node("a").hypervisor("type1").offers(LOCAL_CAPACITY, room),
        make_node("b").hypervisor("type1").offers(LOCAL_CAPACITY, room),
        make_node("c").hypervisor("type1"),  # reports no local storage
    )
    for storage_class in default_storage_classes():
        harness.snapshot.volumes.upsert_class(storage_class)
    for message in claims:
        harness.snapshot.volumes.upsert_claim(claim_facts(message))
    return harness


def message(outcome: object) -> str:
    assert isinstance(outcome, Unschedulable)
    return outcome.message


def test_a_workload_without_claims_is_not_constrained() -> None:
    assert cluster().decide(make_vm()).placed


def test_a_bound_local_claim_pins_the_workload_to_its_volume_node() -> None:
    harness = cluster(claim(volume="pv-b", phase="Bound"))
    harness.snapshot.volumes.upsert_volume(volume_facts(local_volume("pv-b", "b")))
    assert harness.decide(make_vm().claim("data")).node == "b"


def test_a_shared_claim_fits_every_node() -> None:
    harness = cluster(claim(storage_class=storage.SHARED_CLASS, volume="pv-s", phase="Bound"))
    harness.snapshot.volumes.upsert_volume(volume_facts(shared_volume("pv-s")))
    harness.bind(make_vm("other").claim("data"), "a")
    assert harness.decide(make_vm().claim("data")).placed


def test_a_read_write_once_claim_in_use_on_one_node_keeps_a_second_user_there_or_waiting() -> None:
    harness = cluster(claim(storage_class=storage.SHARED_CLASS, volume="pv-s", phase="Bound"))
    harness.snapshot.volumes.upsert_volume(volume_facts(shared_volume("pv-s")))
    harness.bind(make_vm("first").claim("data"), "a")
    assert harness.decide(make_vm("second").claim("data")).node == "a"
    harness.snapshot.upsert_workload(make_vm("third").memory("1Ti").claim("data").bound_to("b").info())
    outcome = harness.place(make_vm("fourth").claim("data"))
    assert "node(s) not a, where ReadWriteOnce claim data is in use" in message(outcome)
    assert "node(s) not b, where ReadWriteOnce claim data is in use" in message(outcome)


def test_an_unplaced_local_claim_needs_room_and_the_first_placement_is_held_for_the_next_user() -> None:
    harness = cluster(claim(size="60Gi"), claim("other", size="60Gi"))
    first = harness.place(make_vm("first").claim("data"))
    assert isinstance(first, Placement) and first.node in ("a", "b")
    second = harness.place(make_vm("second").claim("data"))
    assert isinstance(second, Placement) and second.node == first.node
    third = harness.place(make_vm("third").claim("other"))  # 60Gi does not fit next to data's 60Gi
    assert isinstance(third, Placement) and third.node not in (first.node, "c")


def test_no_node_with_room_for_a_local_volume_explains_each_node() -> None:
    harness = cluster(claim(size="200Gi"))
    assert message(harness.place(make_vm().claim("data"))) == (
        "0/3 nodes are available: 3 node(s) did not have enough free local storage."
    )


def test_missing_lost_and_immediate_unbound_claims_wait_with_the_reason() -> None:
    harness = cluster(claim("lost", phase="Lost", volume="gone"), claim("later", storage_class=storage.SHARED_CLASS))
    assert 'persistentvolumeclaim "nope" not found' in message(harness.place(make_vm("a").claim("nope")))
    assert 'persistentvolumeclaim "lost" is Lost' in message(harness.place(make_vm("b").claim("lost")))
    assert "unbound immediate PersistentVolumeClaims" in message(harness.place(make_vm("c").claim("later")))


def fast_class() -> storage_pb2.StorageClass:
    fast = storage_pb2.StorageClass(provisioner=storage.LOCAL_PROVISIONER,
                                    volume_binding_mode=storage.WAIT_FOR_FIRST_CONSUMER)
    fast.metadata.name = "fast"
    return fast


def test_a_class_with_room_declared_per_node_is_placed_by_that_room_alone() -> None:
    fast = storage.class_capacity_resource("fast")
    harness = Harness(
        make_node("a").hypervisor("type1").offers(LOCAL_CAPACITY, "100Gi").offers(fast, "20Gi"),
        make_node("b").hypervisor("type1").offers(LOCAL_CAPACITY, "50Gi"),  # no fast disks
    )
    for storage_class in (*default_storage_classes(), fast_class()):
        harness.snapshot.volumes.upsert_class(storage_class)
    fast_claims = (claim("quick", size="15Gi", storage_class="fast"), claim("more", size="15Gi", storage_class="fast"))
    for message_ in (*fast_claims, claim("bulk", size="90Gi")):
        harness.snapshot.volumes.upsert_claim(claim_facts(message_))
    quick = harness.place(make_vm("quick").claim("quick"))
    assert isinstance(quick, Placement) and quick.node == "a"
    assert message(harness.place(make_vm("more").claim("more"))) == (
        "0/2 nodes are available: 2 node(s) did not have enough free local storage of class fast."
    )
    bulk = harness.place(make_vm("bulk").claim("bulk"))  # the fast volume takes none of a's general room
    assert isinstance(bulk, Placement) and bulk.node == "a"
