"""VirtualMachineMigration through the registry: what the API refuses (one line, nothing written),
one active migration per VM, and the VM's switch-over write (atoll/migrations.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from atoll import kinds, migrations
from atoll.clock import ManualClock
from atoll.v1 import namespace_pb2, object_pb2, virtualmachine_pb2
from controller.apiserver.errors import ForbiddenStateError, InvalidError
from controller.apiserver.migration_admission import MigrationAdmission
from controller.apiserver.namespaces import NamespaceIndex
from controller.apiserver.registry import Registry
from controller.store.memory import MemoryStore
from tests.support.objects import make_migration, make_node, make_vm

MIGRATION = kinds.by_name("VirtualMachineMigration")
VM = kinds.by_name("VirtualMachine")


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    store = MemoryStore()
    registry = Registry(store, NamespaceIndex(store), clock=ManualClock(start=1_800_000_000.0),
                        reservers={MIGRATION.name: MigrationAdmission(store)})
    await registry.create(object_pb2.Object(namespace=namespace_pb2.Namespace(metadata={"name": "default"})))
    for node in ("n1", "n2"):
        await registry.create(make_node(node))
    yield registry


async def running_vm(registry: Registry, name: str = "db", node: str = "n1") -> virtualmachine_pb2.VirtualMachine:
    vm = await registry.create(make_vm(name))
    vm.spec.node_name = node
    vm = await registry.update(VM.wrap(vm))
    vm.status.phase = "Running"
    return await registry.update(VM.wrap(vm), status_only=True)  # type: ignore[no-any-return]


async def count_migrations(registry: Registry) -> int:
    return len((await registry._store.range(MIGRATION.prefix("default"))).items)


@pytest.mark.parametrize(
    ("setup", "migration", "error", "message"),
    [
        ("none", make_migration(vm="ghost"), InvalidError, r"spec.vmName: virtualmachine/ghost not found"),
        ("unbound", make_migration(), ForbiddenStateError, r"cannot migrate virtualmachine/db: it is Pending, not "),
        ("running", make_migration(target="n1"), InvalidError, r"spec.targetNode: virtualmachine/db already runs on "),
        ("running", make_migration(target="n9"), InvalidError, r"spec.targetNode: node 'n9' not found"),
        ("running", make_migration(vm="Bad_Name"), InvalidError, r"spec.vmName"),
    ],
    ids=["a VM that does not exist", "a VM that is not running", "to its own node", "to a node that does not exist",
         "an invalid VM name"],
)
async def test_a_migration_that_cannot_happen_is_refused_with_one_line_and_nothing_written(
    registry: Registry, setup: str, migration: object_pb2.Object, error: type[Exception], message: str
) -> None:
    if setup == "unbound":
        await registry.create(make_vm("db"))
    elif setup == "running":
        await running_vm(registry)
    with pytest.raises(error, match=message):
        await registry.create(migration)
    assert await count_migrations(registry) == 0


async def test_a_second_migration_of_a_vm_is_refused_while_the_first_is_active(registry: Registry) -> None:
    await running_vm(registry)
    first = await registry.create(make_migration("first"))
    assert first.status.phase == migrations.PENDING
    with pytest.raises(ForbiddenStateError, match=r"migration first of it is Pending .one active migration per VM"):
        await registry.create(make_migration("second"))
    first.status.phase = migrations.FAILED
    await registry.update(MIGRATION.wrap(first), status_only=True)
    again = await registry.create(make_migration("second"))
    assert again.spec.vm_name == "db"


async def test_vm_and_target_of_a_migration_never_change_and_cancel_is_never_unset(registry: Registry) -> None:
    await running_vm(registry)
    created = await registry.create(make_migration("m", target="n2"))
    created.spec.cancel = True
    cancelled = await registry.update(MIGRATION.wrap(created))
    cancelled.spec.cancel = False
    with pytest.raises(InvalidError, match=r"spec.cancel: may not be unset"):
        await registry.update(MIGRATION.wrap(cancelled))
    cancelled.spec.cancel, cancelled.spec.target_node = True, "n1"
    with pytest.raises(InvalidError, match=r"spec.targetNode: may not change"):
        await registry.update(MIGRATION.wrap(cancelled))


async def test_the_node_of_a_vm_moves_only_to_the_target_of_its_completed_migration(registry: Registry) -> None:
    vm = await running_vm(registry)
    moved = virtualmachine_pb2.VirtualMachine()
    moved.CopyFrom(vm)
    moved.spec.node_name = "n2"
    with pytest.raises(InvalidError, match=r"spec.nodeName"):
        await registry.update(VM.wrap(moved))

    state = vm.status.migration_state
    state.migration_name, state.source_node, state.target_node = "m", "n1", "n2"
    state.phase = migrations.RUNNING
    vm = await registry.update(VM.wrap(vm), status_only=True)
    agent_write = virtualmachine_pb2.VirtualMachine()
    agent_write.CopyFrom(vm)
    agent_write.status.ClearField("migration_state")  # an agent that knows nothing of migrations
    agent_write.status.phase = "Running"
    vm = await registry.update(VM.wrap(agent_write), status_only=True)
    assert vm.status.migration_state.target_node == "n2", "a status write without a migration state keeps it"
    moved.metadata.resource_version = 0
    with pytest.raises(InvalidError, match=r"spec.nodeName"):
        await registry.update(VM.wrap(moved))  # not completed yet

    vm.status.migration_state.completed = True
    vm = await registry.update(VM.wrap(vm), status_only=True)
    elsewhere = virtualmachine_pb2.VirtualMachine()
    elsewhere.CopyFrom(vm)
    elsewhere.spec.node_name = "n3"
    with pytest.raises(InvalidError, match=r"spec.nodeName"):
        await registry.update(VM.wrap(elsewhere))
    switched = await registry.update(VM.wrap(moved))
    assert switched.spec.node_name == "n2"
    assert switched.status.current_run.node == "n2"
    assert switched.status.current_run.number == vm.status.current_run.number, "the same run goes on"
    assert switched.status.migration_state.phase == migrations.SUCCEEDED
    assert switched.status.migration_count == 1
    assert switched.status.phase == "Running"
