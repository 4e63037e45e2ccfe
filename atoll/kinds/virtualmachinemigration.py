"""VirtualMachineMigration: one live move of a running VM to another node (atoll/migrations.py)."""

from __future__ import annotations

from atoll import migrations
from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, NONE, Column, is_set, or_none
from atoll.kinds.kind import KindStrategy
from atoll.v1 import migration_pb2
from atoll.validation.base import FieldError
from atoll.validation.migration import (
    validate_migration_spec,
    validate_migration_status,
    validate_migration_update,
)

Migration = migration_pb2.VirtualMachineMigration


def progress_cell(migration: Migration, now: float) -> str:
    """Percent of memory sent so far, or <none> before the copy began."""
    progress = migration.status.progress
    if not progress.bytes_total:
        return NONE
    sent = min(progress.bytes_transferred, progress.bytes_total)
    return f"{100 * sent // progress.bytes_total}%"


def downtime_cell(migration: Migration, now: float) -> str:
    return f"{migration.status.progress.downtime_ms}ms" if migration.status.completed else NONE


def duration_cell(migration: Migration, now: float) -> str:
    status = migration.status
    if not is_set(status.start_time):
        return NONE
    end = status.end_time.ToNanoseconds() / 1e9 if is_set(status.end_time) else now
    return f"{max(0.0, end - status.start_time.ToNanoseconds() / 1e9):.1f}s"


class VirtualMachineMigrationKind(KindStrategy[Migration]):
    def default(self, obj: Migration) -> None:
        """A new migration starts Pending (its status is the system's: Update keeps it)."""
        if not obj.status.phase:
            obj.status.phase = migrations.PENDING

    def validate(self, obj: Migration, errors: list[FieldError]) -> None:
        validate_migration_spec(obj.spec, errors)

    def validate_status(self, obj: Migration, errors: list[FieldError]) -> None:
        validate_migration_status(obj.status, errors)

    def validate_update(self, old: Migration, new: Migration, errors: list[FieldError]) -> None:
        validate_migration_update(old, new, errors)


KIND = VirtualMachineMigrationKind(
    name="VirtualMachineMigration",
    plural="virtualmachinemigrations",
    short=("vmim", "vmims"),
    field="virtual_machine_migration",
    message=Migration,
    namespaced=True,
    columns=(
        NAME_COLUMN,
        Column("VM", lambda m, now: str(m.spec.vm_name)),
        Column("PHASE", lambda m, now: m.status.phase or migrations.PENDING),
        Column("SOURCE", lambda m, now: or_none(m.status.source_node)),
        Column("TARGET", lambda m, now: or_none(migrations.target_of(m))),
        Column("PROGRESS", progress_cell),
        AGE_COLUMN,
        Column("DURATION", duration_cell, wide=True),
        Column("DOWNTIME", downtime_cell, wide=True),
        Column("REASON", lambda m, now: or_none(m.status.reason), wide=True),
    ),
    selectable_fields={
        "spec.vmName": lambda m: str(m.spec.vm_name),
        "status.phase": lambda m: str(m.status.phase),
        "status.sourceNode": lambda m: str(m.status.source_node),
        "status.targetNode": lambda m: str(m.status.target_node),
    },
)
