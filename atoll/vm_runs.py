"""A VirtualMachine's run on its node: when it has ended, when it is asked to leave the node, and
how the next run begins without replacing the object.

Eviction (``atoll node drain``), as KubeVirt turns an eviction of a non-migratable VM into a stop
and a start elsewhere, keeping the VirtualMachine::

    CLI       sets annotation vm.atoll.dev/evict-from=NODE   (request_eviction)
    agent     of NODE sees evicted_from_its_node: stops the guest, reports phase Stopped
    VM ctrl   sees the run ended: clears spec.nodeName, drops the annotation (one Update)
    API       that Update is an unbind (may_unbind): begin_next_run resets the status for the
              next run and removes the agent finalizer, in the same write
    agent     of NODE sees the VM leave its selector (DELETED) and forgets it
    scheduler sees it unbound again and places it (NODE is cordoned, so elsewhere)

The VM keeps its name, UID, creation time, labels, owners and Events throughout; only
``spec.nodeName`` and the status of the run change. A run is never started elsewhere before the
agent of the old node reported it ended, so one VM never runs twice at once.
"""

from __future__ import annotations

from atoll import finalizers
from atoll.annotations import VM_EVICT_ANNOTATION
from atoll.v1 import virtualmachine_pb2

VirtualMachine = virtualmachine_pb2.VirtualMachine
# Phases after which nothing runs on the node for this VM: the agent stopped or lost the guest.
RUN_ENDED_PHASES = ("Stopped", "Failed")


def run_ended(vm: VirtualMachine) -> bool:
    """Whether the agent reported that this VM's run on its node has ended."""
    return vm.status.phase in RUN_ENDED_PHASES


def evicted_from_its_node(vm: VirtualMachine) -> bool:
    """Whether the VM is bound and asked to leave the node it is bound to."""
    node = vm.spec.node_name
    return bool(node) and vm.metadata.annotations.get(VM_EVICT_ANNOTATION) == node


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


def begin_next_run(vm: VirtualMachine) -> None:
    """Turn an unbound ``vm`` (in place) into the start of its next run: status as a fresh VM's,
    with the restart count carried on + 1, and no agent finalizer (no agent owns it now; Bind
    adds it again)."""
    previous = vm.status.restart_count
    vm.ClearField("status")
    vm.status.phase = "Pending"
    vm.status.restart_count = previous + 1
    kept = [name for name in vm.metadata.finalizers if name != finalizers.NODE_AGENT]
    del vm.metadata.finalizers[:]
    vm.metadata.finalizers.extend(kept)
