"""A VirtualMachine's runs: one object for the VM's whole life, one numbered run per boot.

A run is one boot of the guest on one node (KubeVirt's VirtualMachineInstance, kept in the VM's
status as ``status.currentRun``, with ``status.previousRuns`` newest first, at most
``MAX_PREVIOUS_RUNS``). Starting, stopping, restarting, a crash, a drain or a lost node never
replace the object: its name, UID, creation time, owners and Events stay; only ``spec.nodeName``
and the status change. Run numbers start at 1 (``default`` at create) and only grow:

    agent     a guest ended and the run strategy restarts it on the same node:
              the agent archives run N and starts run N+1 itself (status writes); a run it
              reported Stopped or Failed it never boots again: the controller makes the next
    VM ctrl   a new placement is due (restart, start after a stop, eviction, node lost, a run
              that cannot run here): once run N on its node ended (run_ended), one Update clears
              spec.nodeName and the one-shot annotations
    API       that Update is an unbind (may_unbind): begin_next_run archives run N and makes the
              status that of run N+1, Pending, without the agent finalizer, in the same write
    agent     of the old node sees the VM leave its selector (DELETED) and forgets it
    scheduler sees it unbound again and places it

A run on a node that must end before the next one can be placed (``run_end_requested``: a
restart, or a drain's ``vm.atoll.dev/evict-from``) is stopped by that node's agent first, so one
VM never runs twice at once. The task an agent runs is named after the run (``run_task_name``),
so a node that comes back never mistakes an old run's guest for the new run's.
"""

from __future__ import annotations

from atoll import finalizers
from atoll.annotations import VM_ACTION_ANNOTATION, VM_ACTION_RESTART, VM_EVICT_ANNOTATION
from atoll.v1 import virtualmachine_pb2, vm_identity_pb2

VirtualMachine = virtualmachine_pb2.VirtualMachine
VirtualMachineStatus = virtualmachine_pb2.VirtualMachineStatus
VirtualMachineRun = vm_identity_pb2.VirtualMachineRun
# Phases after which nothing runs on the node for this VM: the agent stopped or lost the guest.
RUN_ENDED_PHASES = ("Stopped", "Failed")
MAX_PREVIOUS_RUNS = 10
FIRST_RUN = 1
# The task name of a VM's run: objects made before runs were numbered are on run 0, whose task
# keeps the name every VM task had then (an agent upgrade adopts it).
_LEGACY_TASK_NAME = "vm"


def run_number(vm: VirtualMachine) -> int:
    return int(vm.status.current_run.number)


def run_task_name(number: int) -> str:
    """The name of the driver task that runs run ``number`` of a VM (unique per run)."""
    return _LEGACY_TASK_NAME if number <= 0 else f"vm-run{number}"


def run_ended(vm: VirtualMachine) -> bool:
    """Whether the agent reported that this VM's run on its node has ended."""
    return vm.status.phase in RUN_ENDED_PHASES


def evicted_from_its_node(vm: VirtualMachine) -> bool:
    """Whether the VM is bound and asked to leave the node it is bound to."""
    node = vm.spec.node_name
    return bool(node) and vm.metadata.annotations.get(VM_EVICT_ANNOTATION) == node


def restart_requested(vm: VirtualMachine) -> bool:
    """Whether ``atoll vm restart`` asked for a new run (and the controller has not made it yet)."""
    return vm.metadata.annotations.get(VM_ACTION_ANNOTATION) == VM_ACTION_RESTART


def run_end_requested(vm: VirtualMachine) -> bool:
    """Whether the run on the VM's node must end so that the next run can be placed: a restart
    (not for Halted VMs, which ignore it) or an eviction from that node. Its agent stops the guest."""
    if not vm.spec.node_name:
        return False
    restarting = restart_requested(vm) and vm.spec.run_strategy != "Halted"
    return restarting or evicted_from_its_node(vm)


def request_eviction(vm: VirtualMachine) -> bool:
    """Ask ``vm`` to leave its node (in place); False when it is unbound or already asked."""
    if not vm.spec.node_name or evicted_from_its_node(vm):
        return False
    vm.metadata.annotations[VM_EVICT_ANNOTATION] = vm.spec.node_name
    return True


def may_unbind(old: VirtualMachine, new: VirtualMachine) -> bool:
    """Whether turning ``old`` into ``new`` is an allowed unbind: ``spec.nodeName`` cleared (never
    changed to another node) after the run on the old node ended."""
    return bool(old.spec.node_name) and not new.spec.node_name and run_ended(old)


def number_first_run(vm: VirtualMachine) -> None:
    """A new VM's status starts at run 1 (in place; idempotent)."""
    if not vm.status.current_run.number:
        vm.status.current_run.number = FIRST_RUN
        mirror_current_run(vm.status)


def mirror_current_run(status: VirtualMachineStatus) -> None:
    """Repeat the status's phase, reason and message in ``current_run`` (in place), and its ip and
    hypervisor when set, so that the run's record is whole when it is archived. The one place
    these fields are copied: the API server calls it on every status write."""
    run = status.current_run
    run.phase, run.reason, run.message = status.phase, status.reason, status.message
    if status.ip:
        run.ip = status.ip
    if status.hypervisor:
        run.hypervisor = status.hypervisor


def archive_run(status: VirtualMachineStatus, run: VirtualMachineRun) -> None:
    """Put a copy of the ended ``run`` first in ``previous_runs`` (in place), keeping the newest
    ``MAX_PREVIOUS_RUNS``; idempotent: a run already archived is not added twice."""
    if any(kept.number == run.number for kept in status.previous_runs):
        return
    runs = [VirtualMachineRun(), *status.previous_runs][:MAX_PREVIOUS_RUNS]
    runs[0].CopyFrom(run)
    del status.previous_runs[:]
    status.previous_runs.extend(runs)


def begin_next_run(vm: VirtualMachine, from_node: str) -> None:
    """Turn ``vm``, just unbound from ``from_node`` (in place), into the start of its next run:
    the ended run archived, status as a fresh VM's with the next run number and the restart count
    carried on + 1, and no agent finalizer (no agent owns it now; Bind adds it again)."""
    status = vm.status
    ended = VirtualMachineRun()
    ended.CopyFrom(status.current_run)
    if not ended.node:
        ended.node = from_node
    kept_runs = list(status.previous_runs)
    restarts = status.restart_count
    vm.ClearField("status")
    status = vm.status
    status.previous_runs.extend(kept_runs)
    archive_run(status, ended)
    status.phase = "Pending"
    status.restart_count = restarts + 1
    status.current_run.number = max(ended.number, 0) + 1
    mirror_current_run(status)
    kept = [name for name in vm.metadata.finalizers if name != finalizers.NODE_AGENT]
    del vm.metadata.finalizers[:]
    vm.metadata.finalizers.extend(kept)
