"""Validation of VirtualMachineMigration objects (atoll/migrations.py has the lifecycle)."""

from __future__ import annotations

from atoll import migrations
from atoll.v1 import migration_pb2
from atoll.validation.base import FieldError, check_name, check_one_of
from atoll.validation.meta import validate_conditions


def validate_migration_spec(spec: migration_pb2.VirtualMachineMigrationSpec, errors: list[FieldError]) -> None:
    check_name(spec.vm_name, "spec.vmName", errors, label=False, required=True)
    check_name(spec.target_node, "spec.targetNode", errors, label=False, required=False)


def validate_migration_status(status: migration_pb2.VirtualMachineMigrationStatus, errors: list[FieldError]) -> None:
    check_one_of(status.phase, migrations.PHASES, "status.phase", errors)
    check_name(status.source_node, "status.sourceNode", errors, label=False, required=False)
    check_name(status.target_node, "status.targetNode", errors, label=False, required=False)
    validate_conditions(status.conditions, "status.conditions", errors)


def validate_migration_update(
    old: migration_pb2.VirtualMachineMigration, new: migration_pb2.VirtualMachineMigration, errors: list[FieldError]
) -> None:
    """The VM and target never change; cancel may only be set, never unset."""
    if new.spec.vm_name != old.spec.vm_name:
        errors.append(FieldError("spec.vmName", "may not change (create another migration)"))
    if new.spec.target_node != old.spec.target_node:
        errors.append(FieldError("spec.targetNode", "may not change (cancel, then create another migration)"))
    if old.spec.cancel and not new.spec.cancel:
        errors.append(FieldError("spec.cancel", "may not be unset once set"))
