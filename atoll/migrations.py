"""Live migration rules shared by the API server, the controllers, the scheduler, agents and the
CLI: phases, which ones are over, and when a VM may change nodes (the switch-over).

A VirtualMachineMigration moves a Running VM's guest, memory and all, from its node (source) to
another (target) without a reboot::

    Pending     created; the API server checked the VM runs and has no other active migration
    Scheduling  the controller recorded the source; the scheduler picks a target (or checks the
                one asked for) and holds the VM's resources there
    TargetReady the target's agent started the receiving side and wrote where it listens
    Running     the source's agent streams memory (progress in status.progress); when the
                hypervisor completes, the agent sets status.completed
    Succeeded   the controller switched the VM over (spec.nodeName = target, one write);
                the source's agent tears its side down, the source's resources are released
    Failed | Cancelled   the VM keeps running on the source; the target's agent cleans up

A VM's ``status.migrationState`` mirrors its latest migration; status writes that carry none keep
the stored one (``keep_migration_state``), so an agent's status write never erases it.
"""

from __future__ import annotations

from atoll.v1 import migration_pb2, virtualmachine_pb2

PENDING = "Pending"
SCHEDULING = "Scheduling"
TARGET_READY = "TargetReady"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
CANCELLED = "Cancelled"
PHASES = (PENDING, SCHEDULING, TARGET_READY, RUNNING, SUCCEEDED, FAILED, CANCELLED)
ENDED_PHASES = frozenset({SUCCEEDED, FAILED, CANCELLED})

# Eviction strategies (spec.evictionStrategy) of a VM a drain meets.
LIVE_MIGRATE = "LiveMigrate"
LIVE_MIGRATE_IF_POSSIBLE = "LiveMigrateIfPossible"
EVICTION_NONE = "None"
EVICTION_STRATEGIES = (LIVE_MIGRATE, LIVE_MIGRATE_IF_POSSIBLE, EVICTION_NONE)

# Failure reasons (status.reason).
REASON_VM_NOT_RUNNING = "VirtualMachineNotRunning"
REASON_NO_TARGET = "NoTargetNode"
REASON_TARGET_FAILED = "TargetFailed"
REASON_SOURCE_FAILED = "SourceFailed"
REASON_NOT_CONVERGING = "NotConverging"
REASON_TIMED_OUT = "CompletionTimeout"
REASON_CANCELLED = "CancelledByUser"
REASON_SUPERSEDED = "AnotherMigrationActive"
REASON_VM_GONE = "VirtualMachineGone"

Migration = migration_pb2.VirtualMachineMigration
Parameters = migration_pb2.MigrationParameters
VirtualMachine = virtualmachine_pb2.VirtualMachine


def is_active(migration: Migration) -> bool:
    """Whether the migration has not ended (it holds its VM: no second one may start)."""
    return migration.status.phase not in ENDED_PHASES


def may_switch_over(old: VirtualMachine, new: VirtualMachine) -> bool:
    """Whether turning ``old`` into ``new`` moves spec.nodeName along a completed migration: from
    the migration's source to its target, once the hypervisor completed the move."""
    state = old.status.migration_state
    return (
        state.completed
        and bool(state.target_node)
        and old.spec.node_name == state.source_node
        and new.spec.node_name == state.target_node
    )


def keep_migration_state(stored: VirtualMachine, merged: VirtualMachine) -> None:
    """A status write without a migration state keeps the stored one (in place on ``merged``)."""
    if not merged.status.HasField("migration_state") and stored.status.HasField("migration_state"):
        merged.status.migration_state.CopyFrom(stored.status.migration_state)
    if not merged.status.migration_count:
        merged.status.migration_count = stored.status.migration_count


def switch_over(vm: VirtualMachine) -> None:
    """The status half of the switch-over write (in place; ``vm.spec.nodeName`` is already the
    target): the same run goes on, now on the target node."""
    vm.status.current_run.node = vm.spec.node_name
    vm.status.migration_state.phase = SUCCEEDED
    vm.status.migration_count += 1


def target_of(migration: Migration) -> str:
    """The node the migration goes to: the scheduler's choice, else the one the user asked for."""
    return str(migration.status.target_node or migration.spec.target_node)


def migration_target_is(vm: VirtualMachine, node: str) -> bool:
    """Whether ``vm``'s latest migration is under way towards ``node`` (its agent prepares it)."""
    state = vm.status.migration_state
    return state.target_node == node and state.phase not in ENDED_PHASES
