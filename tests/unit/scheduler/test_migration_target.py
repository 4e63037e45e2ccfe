"""Placing a live migration's target (scheduler/migration.py, plugins/migration_target.py): the
VM's own rules plus compatibility with its node, the room held on the target while it runs, and
the explanation when nothing fits."""

from __future__ import annotations

import pytest

from atoll import migrations
from atoll.v1 import migration_pb2
from scheduler.migration import MigrationPlacer, NoTarget, TargetChosen, hold_key
from tests.unit.scheduler.builders import NodeBuilder, VmBuilder
from tests.unit.scheduler.harness import Harness


def make_node(name: str, accelerator: str = "tcg", *cpu_models: str) -> NodeBuilder:
    return NodeBuilder(name).hypervisor("type1").migrates(accelerator, *cpu_models)


def migration(target: str = "", source: str = "src") -> migration_pb2.VirtualMachineMigration:
    found = migration_pb2.VirtualMachineMigration()
    found.metadata.name, found.metadata.namespace, found.metadata.uid = "m1", "default", "uid-m1"
    found.spec.vm_name, found.spec.target_node = "db", target
    found.status.phase, found.status.source_node = migrations.SCHEDULING, source
    return found


def placer(*nodes: NodeBuilder, vm: VmBuilder | None = None) -> tuple[Harness, MigrationPlacer]:
    harness = Harness(make_node("src"), *nodes)
    harness.bind(vm or VmBuilder("db", "default"), "src")
    return harness, MigrationPlacer(harness.framework, harness.snapshot)


def decide_one(placer: MigrationPlacer, wanted: migration_pb2.VirtualMachineMigration) -> TargetChosen | NoTarget:
    placer.observe(wanted, deleted=False)
    decided = placer.decide()
    assert len(decided) == 1
    return decided[0]


def test_the_target_is_another_node_and_its_room_is_held_until_the_migration_ends() -> None:
    harness, migrations_ = placer(make_node("dst"))
    chosen = decide_one(migrations_, migration())
    assert isinstance(chosen, TargetChosen) and chosen.node == "dst"
    held = harness.snapshot.workload(hold_key(chosen.migration))
    assert held is not None and held.node_name == "dst" and held.memory == 2 * 1024**3
    slot = harness.snapshot.nodes.index["dst"]
    assert harness.snapshot.nodes.used_mem[slot] == 2 * 1024**3

    ended = migration()
    ended.status.target_node, ended.status.phase = "dst", migrations.SUCCEEDED
    migrations_.observe(ended, deleted=False)
    assert harness.snapshot.workload(hold_key(ended)) is None
    assert harness.snapshot.nodes.used_mem[slot] == 0


def test_a_held_target_has_no_room_for_a_second_vm() -> None:
    harness, migrations_ = placer(make_node("dst").memory("3Gi"))
    assert isinstance(decide_one(migrations_, migration()), TargetChosen)
    decision = harness.decide(VmBuilder("other", "default"))
    assert decision.node == "src", "dst has 3Gi, 2Gi of it held for the migrating VM"


@pytest.mark.parametrize(
    ("nodes", "vm", "target", "message"),
    [
        ([make_node("dst", "kvm")], None, "",
         "0/2 nodes are available for migration: 1 node(s) already ran the VM, "
         "1 node(s) had another hypervisor or accelerator than the source."),
        ([make_node("dst", "tcg")], VmBuilder("db", "default").cpu_model("Haswell"), "",
         "0/2 nodes are available for migration: 1 node(s) already ran the VM, "
         "1 node(s) did not offer CPU model Haswell."),
        ([NodeBuilder("dst").hypervisor("type1")], None, "",
         "0/2 nodes are available for migration: 1 node(s) already ran the VM, "
         "1 node(s) did not receive live migrations."),
        ([make_node("dst"), make_node("dst2")], None, "dst2x",
         "0/3 nodes are available for migration: 2 node(s) were not the requested target, "
         "1 node(s) already ran the VM."),
        ([make_node("dst").memory("1Gi")], None, "",
         "0/2 nodes are available for migration: 1 insufficient memory, 1 node(s) already ran the VM."),
        ([make_node("dst")], VmBuilder("db", "default").disk("10Gi"), "",
         "0/2 nodes are available for migration: 2 the VM has node-local disks that are not copied (disk0); "
         "use claims of a shared class."),
    ],
    ids=["another accelerator", "a CPU model the target lacks", "a node without live migration",
         "a requested target that is not there", "no room on the target", "node-local disks"],
)
def test_no_target_is_explained_per_reason(
    nodes: list[NodeBuilder], vm: VmBuilder | None, target: str, message: str
) -> None:
    harness, migrations_ = placer(*nodes, vm=vm)
    refused = decide_one(migrations_, migration(target))
    assert isinstance(refused, NoTarget)
    assert refused.message == message
    assert harness.snapshot.workload(hold_key(refused.migration)) is None


def test_the_requested_target_is_taken_when_it_fits() -> None:
    _, migrations_ = placer(make_node("a"), make_node("b"), make_node("c"))
    chosen = decide_one(migrations_, migration("b"))
    assert isinstance(chosen, TargetChosen) and chosen.node == "b"


def test_a_migration_waits_until_its_vm_is_bound_in_the_snapshot() -> None:
    _, migrations_ = placer(make_node("dst"))
    migrations_.observe(migration(source="elsewhere"), deleted=False)
    assert migrations_.decide() == []
    assert migrations_.pending
