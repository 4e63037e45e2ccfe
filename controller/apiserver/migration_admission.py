"""The registry's CreateReserver for VirtualMachineMigrations (kind_hooks.py): a new migration is
refused with one line, and nothing written, when its VM does not exist, is not Running or not
bound, already has an active migration, or when the target asked for is its own node or no
node at all (atoll/migrations.py has the lifecycle).

Two creates racing past this check both get written; the migration controller then fails the
younger one (reason AnotherMigrationActive), so one VM never has two migrations under way.
"""

from __future__ import annotations

from atoll import kinds, migrations
from atoll.user_text import bounded_repr
from atoll.v1 import migration_pb2
from controller.apiserver import codec
from controller.apiserver.errors import ForbiddenStateError, InvalidError
from controller.apiserver.kind_hooks import Undo
from controller.store.protocol import Store

_VM = kinds.by_name("VirtualMachine")
_NODE = kinds.by_name("Node")
_MIGRATION = kinds.by_name("VirtualMachineMigration")


class MigrationAdmission:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def reserve(self, message: migration_pb2.VirtualMachineMigration) -> Undo | None:
        """Raises ForbiddenStateError / InvalidError naming the VM or node; takes nothing."""
        namespace, vm_name = message.metadata.namespace, message.spec.vm_name
        label = f"virtualmachine/{bounded_repr(vm_name)[1:-1]}"
        kv = await self._store.get(_VM.key(namespace, vm_name))
        if kv is None:
            raise InvalidError(f"spec.vmName: {label} not found in namespace {bounded_repr(namespace)}")
        vm = codec.decode(_VM, kv.value, kv.mod_revision)
        if vm.metadata.HasField("deletion_timestamp"):
            raise ForbiddenStateError(f"cannot migrate {label}: it is being deleted")
        if not vm.spec.node_name or vm.status.phase != "Running":
            phase = vm.status.phase or "Pending"
            raise ForbiddenStateError(f"cannot migrate {label}: it is {phase}, not Running")
        target = message.spec.target_node
        if target == vm.spec.node_name:
            raise InvalidError(f"spec.targetNode: {label} already runs on node {bounded_repr(target)}")
        if target and await self._store.get(_NODE.key("", target)) is None:
            raise InvalidError(f"spec.targetNode: node {bounded_repr(target)} not found")
        listing = await self._store.range(_MIGRATION.prefix(namespace))
        for item in listing.items:
            other = codec.decode(_MIGRATION, item.value, item.mod_revision)
            if other.spec.vm_name == vm_name and migrations.is_active(other):
                raise ForbiddenStateError(
                    f"cannot migrate {label}: migration {other.metadata.name} of it is "
                    f"{other.status.phase or migrations.PENDING} (one active migration per VM; "
                    f"cancel it with `atoll vm migrate --cancel {vm_name}`)"
                )
        return None
