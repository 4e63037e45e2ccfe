"""The VirtualMachine controller: KubeVirt's run strategies and the power actions of `atoll vm`.

Who does what:
- The **agent** of the VM's node makes ``spec.power_state`` happen for that one run of the VM:
  boots it (Running), pauses/resumes it (Paused/Running), shuts it down (Stopped), and reports
  ``status.phase`` / ``status.power_state``. When the guest stops or fails on its own, the agent
  reports phase Stopped or Failed and does not boot that run again.
- This **controller** decides whether a stopped run is followed by a new run, and makes the new
  run by **recreating** the VirtualMachine object: delete it (precondition: the revision it read),
  then create it again with the same name, labels, annotations, owners and spec, without
  ``spec.node_name`` and with ``status.restart_count`` + 1. The scheduler places it again (maybe
  elsewhere) and the agent of the old node stops whatever it still runs for the old uid.
  Recreation is needed because ``spec.nodeName`` is immutable once set; it is KubeVirt's model
  (a new VirtualMachineInstance per run) folded into one kind. A VM controlled by an owner (a
  Deployment replica) is only deleted: its owner makes the replacement under a fresh name, so the
  two controllers never both replace it.

Run strategies, level-based (``phase`` is status.phase; "stopped" is phase Stopped or Failed):
- Always: a stopped run is replaced at once (guest shutdown, crash, node lost).
- RerunOnFailure: replaced only when it Failed (node lost counts as failure); a clean shutdown stays.
- Manual: never replaced on its own; ``atoll vm start`` on a stopped VM replaces it.
- Halted: ``spec.power_state`` is kept Stopped.
A ``spec.power_state`` of Stopped means "keep stopped" under every strategy.

Eviction (``atoll node drain``; atoll/vm_runs.py) comes first and never replaces the object: the
annotation ``vm.atoll.dev/evict-from`` makes the node's agent stop the run; once it reports the run
ended, this controller clears ``spec.nodeName`` (and the annotation) in one Update, the API server
begins the next run in that write, and the scheduler places the same VM elsewhere (Event Evicted).

Power actions (``atoll vm``; see atoll/cli/vm.py): stop and pause/resume are plain spec changes
(stop on Always/RerunOnFailure also sets Halted, as ``virtctl stop`` does); start and restart also
set the one-shot annotation ``vm.atoll.dev/action``, which this controller carries out (start:
replace the run if it is stopped; restart: replace it) and drops. Each replacement is a Normal
Event ``Restarting`` with the reason.

Crash window: between the delete and the create the VM object does not exist. A failed create is
retried from memory; a controller killed in that instant loses the object. A separate
VirtualMachineInstance kind (one object per run, owned by the VirtualMachine) would remove this
window; see the report to the lead.
"""

from __future__ import annotations

import logging
from typing import Protocol

import grpc

from atoll import finalizers
from atoll.annotations import VM_ACTION_ANNOTATION, VM_ACTION_RESTART, VM_ACTION_START, VM_EVICT_ANNOTATION
from atoll.client import ApiError
from atoll.clock import Clock
from atoll.events import NORMAL
from atoll.ports import Creator, Deleter, Updater
from atoll.v1 import api_pb2, virtualmachine_pb2
from atoll.vm_runs import evicted_from_its_node, run_ended
from controller.controllers.ownership import controller_of
from controller.controllers.release import NODE_LOST_REASON, release_from_lost_node
from controller.runtime.events import EventRecorder
from controller.runtime.informer import ObjectCache
from controller.runtime.keys import key_of, split_key
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

log = logging.getLogger(__name__)
NAME = "virtualmachine"
STOPPED_PHASES = ("Stopped", "Failed")
KIND = "VirtualMachine"


class VmApi(Creator, Updater, Deleter, Protocol):
    """The API calls the controller makes (``atoll.client.Client`` satisfies it)."""


def restart_reason(vm: virtualmachine_pb2.VirtualMachine) -> str | None:
    """Why this run should be replaced now, or None. Pure: reads spec, status and annotations."""
    strategy = vm.spec.run_strategy or "Always"
    phase = vm.status.phase
    stopped = phase in STOPPED_PHASES
    action = vm.metadata.annotations.get(VM_ACTION_ANNOTATION, "")
    if strategy == "Halted":
        return None
    if action == VM_ACTION_RESTART:
        return "restart requested"
    if action == VM_ACTION_START and stopped:
        return "start requested"
    if not stopped or vm.spec.power_state == "Stopped":
        return None
    lost = vm.status.reason == NODE_LOST_REASON
    if strategy == "Always":
        return "its node was lost" if lost else f"it is {phase} and the run strategy is Always"
    if strategy == "RerunOnFailure" and phase == "Failed":
        return "its node was lost" if lost else "it failed and the run strategy is RerunOnFailure"
    return None


def next_run(vm: virtualmachine_pb2.VirtualMachine) -> virtualmachine_pb2.VirtualMachine:
    """The object of the next run: same identity and spec, unbound, restart count + 1."""
    fresh = virtualmachine_pb2.VirtualMachine()
    meta = fresh.metadata
    meta.name, meta.namespace = vm.metadata.name, vm.metadata.namespace
    meta.labels.update(vm.metadata.labels)
    meta.annotations.update(vm.metadata.annotations)
    meta.annotations.pop(VM_ACTION_ANNOTATION, None)
    meta.owner_references.extend(vm.metadata.owner_references)
    meta.finalizers.extend(f for f in vm.metadata.finalizers if f != finalizers.NODE_AGENT)
    fresh.spec.CopyFrom(vm.spec)
    fresh.spec.ClearField("node_name")
    if fresh.spec.power_state == "Stopped":
        fresh.spec.power_state = "Running"
    fresh.status.phase = "Pending"
    fresh.status.restart_count = vm.status.restart_count + 1
    return fresh


class VirtualMachineController:
    name = NAME

    def __init__(
        self,
        api: VmApi,
        vms: ObjectCache[virtualmachine_pb2.VirtualMachine],
        clock: Clock,
        queue: WorkQueue | None = None,
    ) -> None:
        self.api = api
        self.clock = clock
        self.queue = queue or WorkQueue(clock, name=NAME)
        self.vms = vms
        self.events = EventRecorder(api, f"controller/{NAME}", clock)
        self._pending_runs: dict[str, virtualmachine_pb2.VirtualMachine] = {}
        vms.add_handler(lambda _type, vm, _previous: self.queue.add(key_of(vm)))

    async def reconcile(self, key: str) -> Result | None:
        vm = self.vms.get(key)
        if vm is None:
            pending = self._pending_runs.get(key)
            if pending is not None:
                await self._create_run(key, pending)
            return None
        if vm.metadata.HasField("deletion_timestamp"):
            return None
        if VM_EVICT_ANNOTATION in vm.metadata.annotations:
            await self._evict(vm)
            return None
        strategy = vm.spec.run_strategy or "Always"
        action = vm.metadata.annotations.get(VM_ACTION_ANNOTATION)
        if strategy == "Halted" and (vm.spec.power_state != "Stopped" or action):
            vm.spec.power_state = "Stopped"
            vm.metadata.annotations.pop(VM_ACTION_ANNOTATION, None)
            await self.api.update(vm)
            return None
        reason = restart_reason(vm)
        if reason is not None:
            await self._replace(key, vm, reason)
        elif action:  # a start on a VM that is not stopped: nothing to replace
            vm.metadata.annotations.pop(VM_ACTION_ANNOTATION, None)
            vm.spec.power_state = "Running" if vm.spec.power_state == "Stopped" else vm.spec.power_state
            await self.api.update(vm)
        return None

    async def _evict(self, vm: virtualmachine_pb2.VirtualMachine) -> None:
        """Carry out a drain's eviction (atoll/vm_runs.py): once the agent of the node reported the
        run ended, unbind the VM so the scheduler places it again; the object stays."""
        node = vm.metadata.annotations[VM_EVICT_ANNOTATION]
        if evicted_from_its_node(vm) and not run_ended(vm):
            return  # the agent of that node is stopping it; its status write brings us back
        del vm.metadata.annotations[VM_EVICT_ANNOTATION]
        left = vm.spec.node_name == node
        if left:
            vm.spec.node_name = ""  # the API server begins the next run in this same write
        await self.api.update(vm)
        if left:
            await self.events.record(KIND, vm, NORMAL, "Evicted", f"stopped on node {node}, to be placed again")

    async def _replace(self, key: str, vm: virtualmachine_pb2.VirtualMachine, reason: str) -> None:
        namespace, name = split_key(key)
        owned = controller_of(vm.metadata) is not None
        message = f"replacing the run on node {vm.spec.node_name or '(none)'}: {reason}"
        if not owned:
            self._pending_runs[key] = next_run(vm)
        response: api_pb2.DeleteResponse | None = None
        try:
            response = await self.api.delete(
                KIND, name, namespace, precondition_resource_version=vm.metadata.resource_version
            )
        except ApiError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                self._pending_runs.pop(key, None)
                raise
        if vm.status.reason == NODE_LOST_REASON:
            await release_from_lost_node(self.api, response)
        if owned:
            message += " (its owner makes the replacement)"
        await self.events.record(KIND, vm, NORMAL, "Restarting", message)
        gone = response is None or response.deleted
        if not owned and gone:
            await self._create_run(key, self._pending_runs[key])
        # Otherwise the old run is Terminating (its agent stops it, then drops its finalizer): the
        # pending run is created when the informer sees it gone (reconcile of a missing VM).

    async def _create_run(self, key: str, run: virtualmachine_pb2.VirtualMachine) -> None:
        try:
            await self.api.create(run)
        except ApiError as err:
            if err.code != grpc.StatusCode.ALREADY_EXISTS:
                raise  # kept in _pending_runs: retried with back-off
        self._pending_runs.pop(key, None)
