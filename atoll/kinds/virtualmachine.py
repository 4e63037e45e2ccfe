"""VirtualMachine: the user's VM for its whole life (each run is an instance with its own status)."""

from __future__ import annotations

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, NONE, Column, is_set, or_none, since
from atoll.kinds.exposure import Exposure
from atoll.kinds.kind import NODE_BOUND_FIELDS, KindStrategy, memoized_spec_rule
from atoll.kinds.pod import TERMINATION_GRACE_PERIOD_SECONDS
from atoll.kinds.readiness import Readiness, ready_condition
from atoll.migrations import keep_migration_state, may_switch_over, switch_over
from atoll.probes import default_probe, vm_probes
from atoll.requests import holds_node, vm_requests
from atoll.v1 import virtualmachine_pb2, vm_identity_pb2
from atoll.validation.base import FieldError
from atoll.validation.update import check_node_name_kept
from atoll.validation.virtualmachine import validate_vm_spec, validate_vm_status
from atoll.vm_runs import begin_next_run, may_unbind, mirror_current_run, number_first_run

UNBIND_HINT = (
    "; a VirtualMachine may only be unbound (nodeName cleared) once its run there ended "
    "(status.phase Stopped or Failed)"
)

_check_spec = memoized_spec_rule(virtualmachine_pb2.VirtualMachineSpec, validate_vm_spec)


def default_vm_spec(spec: virtualmachine_pb2.VirtualMachineSpec) -> None:
    """runStrategy Always, powerState Running, hypervisor any, guest linux, disks qcow2 on virtio,
    grace period 30s, probe defaults (atoll/probes.py), and boot from the first disk when no boot
    source is given. (KubeVirt has
    no default run strategy; atoll chooses Always.)"""
    if not spec.run_strategy:
        spec.run_strategy = "Always"
    if not spec.power_state:
        spec.power_state = "Running"
    if not spec.hypervisor.type:
        spec.hypervisor.type = "any"
    if not spec.guest.os:
        spec.guest.os = "linux"
    if not spec.HasField("termination_grace_period_seconds"):
        spec.termination_grace_period_seconds = TERMINATION_GRACE_PERIOD_SECONDS
    for disk in spec.disks:
        if not disk.format:
            disk.format = "qcow2"
        if not disk.bus:
            disk.bus = "virtio"
    if not spec.boot.kernel and not spec.boot.disk and spec.disks:
        spec.boot.disk = spec.disks[0].name
    for spread in spec.scheduling.topology_spread_constraints:
        if not spread.when_unsatisfiable:
            spread.when_unsatisfiable = "DoNotSchedule"
    for _, probe in vm_probes(spec):
        default_probe(probe)


RUNS_HEADER = ["Run", "Node", "Phase", "Reason", "Started", "Ended", "Exit", "IP"]


def run_row(run: vm_identity_pb2.VirtualMachineRun, now: float) -> list[str]:
    """One run as a row of ``atoll describe vm``'s Runs table."""
    ended = is_set(run.end_time)
    return [
        str(run.number),
        run.node or NONE,
        run.phase or "Pending",
        run.reason or NONE,
        f"{since(run.start_time, now)} ago" if is_set(run.start_time) else NONE,
        f"{since(run.end_time, now)} ago" if ended else NONE,
        str(run.exit_code) if ended else NONE,
        run.ip or NONE,
    ]


class VirtualMachineKind(KindStrategy[virtualmachine_pb2.VirtualMachine]):
    def exposure(self, obj: virtualmachine_pb2.VirtualMachine) -> Exposure:
        """The VM's labels (a Service selects VMs as it selects pods); a VM declares no ports."""
        return Exposure(dict(obj.metadata.labels))

    def default(self, obj: virtualmachine_pb2.VirtualMachine) -> None:
        """Spec defaults, and a new VM's status starts at run 1 (an Update keeps the stored
        status, so this only ever numbers a created VM: atoll/vm_runs.py)."""
        default_vm_spec(obj.spec)
        number_first_run(obj)

    def validate(self, obj: virtualmachine_pb2.VirtualMachine, errors: list[FieldError]) -> None:
        _check_spec(obj.spec, errors)

    def validate_status(self, obj: virtualmachine_pb2.VirtualMachine, errors: list[FieldError]) -> None:
        validate_vm_status(obj.status, "status", errors)

    def validate_update(
        self, old: virtualmachine_pb2.VirtualMachine, new: virtualmachine_pb2.VirtualMachine, errors: list[FieldError]
    ) -> None:
        """spec.nodeName never changes once set, except that it is cleared (an unbind) once the run
        on that node ended (atoll/vm_runs.py), and moves to a live migration's target once the
        hypervisor completed the move (atoll/migrations.py)."""
        if not may_unbind(old, new) and not may_switch_over(old, new):
            check_node_name_kept(old.spec.node_name, new.spec.node_name, errors, UNBIND_HINT)

    def describe_tables(
        self, obj: virtualmachine_pb2.VirtualMachine, now: float
    ) -> list[tuple[str, list[list[str]]]]:
        """Runs: the current one first, then the previous ones, newest first (atoll/vm_runs.py)."""
        runs = [obj.status.current_run, *obj.status.previous_runs] if obj.status.current_run.number else []
        if not runs:
            return []
        return [("Runs", [RUNS_HEADER, ["-" * len(title) for title in RUNS_HEADER],
                          *(run_row(run, now) for run in runs)])]

    def keep_on_update(self, old: virtualmachine_pb2.VirtualMachine, merged: virtualmachine_pb2.VirtualMachine) -> None:
        """The status stays, except that an unbind begins the next run in the same write (status
        reset, agent finalizer removed: atoll/vm_runs.py), and a migration's switch-over moves the
        current run to the target in the same write (atoll/migrations.py)."""
        super().keep_on_update(old, merged)
        if old.spec.node_name and not merged.spec.node_name:
            begin_next_run(merged, from_node=old.spec.node_name)
        elif may_switch_over(old, merged):
            switch_over(merged)

    def status_write(
        self, stored: virtualmachine_pb2.VirtualMachine, desired: virtualmachine_pb2.VirtualMachine
    ) -> virtualmachine_pb2.VirtualMachine:
        """The base rule, and the current run's record repeats the status it was given
        (atoll/vm_runs.py), whoever wrote it (agent, node lifecycle, scheduler); a write without
        a migration state keeps the stored one (atoll/migrations.py)."""
        merged = super().status_write(stored, desired)
        keep_migration_state(stored, merged)
        mirror_current_run(merged.status)
        return merged

    def readiness(self, obj: virtualmachine_pb2.VirtualMachine) -> Readiness:
        return ready_condition(obj)

    def node_requests(self, obj: virtualmachine_pb2.VirtualMachine) -> tuple[int, int] | None:
        return vm_requests(obj) if holds_node(obj) else None


KIND = VirtualMachineKind(
    name="VirtualMachine",
    plural="virtualmachines",
    short=("vm", "vms"),
    field="virtual_machine",
    message=virtualmachine_pb2.VirtualMachine,
    namespaced=True,
    node_bound=True,
    evicted_in_place=True,
    columns=(
        NAME_COLUMN,
        Column("PHASE", lambda vm, now: vm.status.phase or "Pending"),
        Column("POWER", lambda vm, now: vm.status.power_state or or_none(vm.spec.power_state)),
        Column("VCPUS", lambda vm, now: str(vm.spec.vcpus)),
        Column("MEMORY", lambda vm, now: or_none(vm.spec.memory)),
        Column("NODE", lambda vm, now: or_none(vm.spec.node_name)),
        AGE_COLUMN,
        Column("GUEST", lambda vm, now: or_none(vm.spec.guest.os), wide=True),
        Column("HYPERVISOR", lambda vm, now: or_none(vm.status.hypervisor), wide=True),
        Column("IP", lambda vm, now: or_none(vm.status.ip), wide=True),
        Column("RESTARTS", lambda vm, now: str(vm.status.restart_count), wide=True),
        Column("RUN", lambda vm, now: str(vm.status.current_run.number or NONE), wide=True),
    ),
    selectable_fields=NODE_BOUND_FIELDS,
    described_apart=frozenset({"currentRun", "previousRuns"}),
)
