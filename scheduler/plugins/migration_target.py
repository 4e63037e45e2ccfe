"""MigrationTarget: where a running VM may live-migrate to (the placement of a migration's target,
scheduler/migration.py; every other workload skips it).

A target must not be the VM's own node, must be the node the user asked for (if any), must
receive live migrations, run the same hypervisor with the same accelerator as the source (kvm to
kvm, tcg to tcg: a guest's state does not cross them) and offer the VM's CPU model. A VM with
node-local disks (image overlays, blank disks written by the guest) migrates nowhere: they are
not copied; a disk from a claim is reachable when VolumeBinding says so (a shared class).
"""

from __future__ import annotations

from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import Filter, NoArgs, PreFilter
from scheduler.framework.status import SKIP, SUCCESS, Status
from scheduler.node_facts import NodeFacts
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "MigrationTarget"
OWN_NODE = "node(s) already ran the VM"
NOT_REQUESTED = "node(s) were not the requested target"
NO_LIVE_MIGRATION = "node(s) did not receive live migrations"
OTHER_HYPERVISOR = "node(s) had another hypervisor or accelerator than the source"
SOURCE_UNKNOWN = "the VM's node is unknown to the scheduler"


def cpu_model_reason(model: str) -> str:
    return f"node(s) did not offer CPU model {model}"


def local_disks_reason(disks: tuple[str, ...]) -> str:
    return f"the VM has node-local disks that are not copied ({', '.join(disks)}); use claims of a shared class"


def refusals(target: NodeFacts, source: NodeFacts, workload: WorkloadInfo) -> tuple[str, ...]:
    """Every reason ``target`` cannot receive the VM from ``source`` (empty: it can)."""
    if target.name == source.name:
        return (OWN_NODE,)
    if workload.migration_target and target.name != workload.migration_target:
        return (NOT_REQUESTED,)
    reasons = []
    if not target.live_migration:
        reasons.append(NO_LIVE_MIGRATION)
    elif (target.hypervisor_name, target.accelerator) != (source.hypervisor_name, source.accelerator):
        reasons.append(OTHER_HYPERVISOR)
    if workload.cpu_model and workload.cpu_model not in target.cpu_models:
        reasons.append(cpu_model_reason(workload.cpu_model))
    return tuple(reasons)


class MigrationTarget(PreFilter, Filter, NoArgs):
    NAME = NAME

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        if not workload.migrating_from:
            return SKIP
        if workload.local_disks:
            return Status.unschedulable(NAME, local_disks_reason(workload.local_disks), resolvable=False)
        if workload.migrating_from not in snapshot.nodes.index:
            return Status.unschedulable(NAME, SOURCE_UNKNOWN, resolvable=False)
        return SUCCESS

    def filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slot: int) -> Status:
        nodes = snapshot.nodes
        source_slot = nodes.index.get(workload.migrating_from)
        source = None if source_slot is None else nodes.facts[source_slot]
        target = nodes.facts[slot]
        if source is None or target is None:
            return Status.unschedulable(NAME, SOURCE_UNKNOWN, resolvable=False)
        reasons = refusals(target, source, workload)
        return Status.unschedulable(NAME, *reasons, resolvable=False) if reasons else SUCCESS
