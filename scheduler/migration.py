"""MigrationPlacer: the scheduler's part of live migration (atoll/migrations.py).

    watch(VirtualMachineMigration) -> observe()
      phase Scheduling, no target   -> pending: decide() once the VM is in the snapshot
      target chosen, not ended       -> a hold: the VM's resources charged to the target too
                                        (workload kind VirtualMachineMigration), so nothing else
                                        takes that room while the memory is copied
      ended or deleted               -> the hold released (after a switch-over the VM itself is
                                        charged to the target, and no longer to the source)
    decide() -> the framework places the target like the VM (its own rules: resources, affinity,
      taints, hypervisor type) plus MigrationTarget (scheduler/plugins/migration_target.py):
      Placement(node) or Refusal("0/N nodes are available for migration: ...")

Pure: the scheduling loop writes what ``decide`` returns (status.targetNode, or phase Failed
with reason NoTargetNode) and feeds every watch event to ``observe``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from atoll import migrations
from atoll.v1 import migration_pb2
from scheduler.framework.runtime import Framework
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import MIGRATION, VM, WorkloadInfo

Migration = migration_pb2.VirtualMachineMigration
_AVAILABLE = "nodes are available"


@dataclass(frozen=True, slots=True)
class TargetChosen:
    migration: Migration
    node: str


@dataclass(frozen=True, slots=True)
class NoTarget:
    migration: Migration
    message: str


def hold_key(migration: Migration) -> str:
    return f"{MIGRATION}/{migration.metadata.namespace}/{migration.metadata.name}"


class MigrationPlacer:
    def __init__(self, framework: Framework, snapshot: ClusterSnapshot) -> None:
        self.framework = framework
        self.snapshot = snapshot
        self.pending: dict[str, Migration] = {}  # hold key -> a migration waiting for its target
        self.held: dict[str, Migration] = {}  # hold key -> a migration whose target holds room

    def observe(self, migration: Migration, deleted: bool) -> None:
        """One watch event of a migration."""
        key = hold_key(migration)
        if deleted or not migrations.is_active(migration):
            self.pending.pop(key, None)
            if self.held.pop(key, None) is not None:
                self.snapshot.remove_workload(key)
            return
        if migration.status.target_node:
            self.pending.pop(key, None)
            if key not in self.held:
                self._hold(migration, migration.status.target_node)
        elif migration.status.phase == migrations.SCHEDULING and key not in self.held:
            self.pending[key] = migration

    def decide(self) -> list[TargetChosen | NoTarget]:
        """Place every pending migration whose VM the snapshot knows; each decision is held at once."""
        decided: list[TargetChosen | NoTarget] = []
        for key, migration in list(self.pending.items()):
            vm = self.snapshot.workload(f"{VM}/{migration.metadata.namespace}/{migration.spec.vm_name}")
            if vm is None or vm.node_name != migration.status.source_node:
                continue  # the VM's binding has not reached the snapshot yet
            del self.pending[key]
            target = self._target_of(migration, vm)
            decision = self.framework.schedule(target, self.snapshot)
            if decision.placed:
                self._hold(migration, decision.node)
                decided.append(TargetChosen(migration, decision.node))
            else:
                why = decision.explanation.message() if decision.explanation else decision.error
                decided.append(NoTarget(migration, why.replace(_AVAILABLE, f"{_AVAILABLE} for migration", 1)))
        return decided

    def release(self, migration: Migration) -> None:
        """Undo a decision whose status write failed (it is decided again on its next event)."""
        key = hold_key(migration)
        if self.held.pop(key, None) is not None:
            self.snapshot.remove_workload(key)

    def _target_of(self, migration: Migration, vm: WorkloadInfo) -> WorkloadInfo:
        """The VM as a workload to place for this migration (not charged to any node yet)."""
        return dataclasses.replace(
            vm,
            kind=MIGRATION,
            name=migration.metadata.name,
            uid=migration.metadata.uid,
            resource_version=migration.metadata.resource_version,
            node_name="",
            migrating_from=vm.node_name,
            migration_target=migration.spec.target_node,
        )

    def _hold(self, migration: Migration, node: str) -> None:
        vm = self.snapshot.workload(f"{VM}/{migration.metadata.namespace}/{migration.spec.vm_name}")
        if vm is None:
            return  # nothing to charge yet; the next event of the migration tries again
        # The VM's claims stay the VM's: the hold charges resources, not a second volume user.
        held = dataclasses.replace(self._target_of(migration, vm), node_name=node, claims=())
        self.snapshot.upsert_workload(held)
        self.held[hold_key(migration)] = migration
