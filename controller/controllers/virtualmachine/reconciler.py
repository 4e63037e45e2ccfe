"""The VirtualMachine controller: KubeVirt's run strategies and the power actions of `atoll vm`.

Who does what:
- The **agent** of the VM's node makes ``spec.power_state`` happen for the VM's current run:
  boots it (Running), pauses/resumes it (Paused/Running), shuts it down (Stopped), and reports
  ``status.phase`` / ``status.power_state``. A guest that ends on its own is restarted there by
  the agent (a new run on the same node) when the run strategy says so; otherwise the agent
  reports phase Stopped or Failed. It also stops the run when asked to end it
  (atoll/vm_runs.py ``run_end_requested``: a restart, a drain).
- This **controller** decides when the VM needs a new placement, and makes it on the **same
  object**: once the run on its node ended, one conditional Update clears ``spec.nodeName`` (and
  the one-shot annotations); the API server begins the next run in that write (run number + 1,
  the ended run archived in ``status.previousRuns``, agent finalizer removed) and the scheduler
  places it again, maybe elsewhere. Name, UID, creation time, owners and Events never change
  (atoll/vm_runs.py). A Deployment's replicas are treated the same way.

Run strategies, level-based ("ended" is phase Stopped or Failed on its node):
- Always: an ended run is placed again (a run that cannot run on its node, its node lost).
- RerunOnFailure: placed again only when it Failed (node lost counts as failure).
- Manual: never on its own; ``atoll vm start`` on an ended VM places it again.
- Halted: ``spec.power_state`` is kept Stopped; restart is ignored.
A ``spec.power_state`` of Stopped means "keep stopped" under every strategy.

Eviction (``atoll node drain``): the annotation ``vm.atoll.dev/evict-from`` makes the node's agent
stop the run; once it reports the run ended, the VM is unbound the same way (Event Evicted).

Power actions (``atoll vm``; see atoll/cli/vm.py): stop and pause/resume are plain spec changes
(stop on Always/RerunOnFailure also sets Halted, as ``virtctl stop`` does); start and restart also
set the one-shot annotation ``vm.atoll.dev/action``, which this controller carries out (start: a
new run if the current one ended; restart: the agent ends the current run, then a new run) and
drops. Each new placement is a Normal Event ``Restarting`` naming the ended run and the reason.
"""

from __future__ import annotations

import logging
from typing import Protocol

from atoll.annotations import VM_ACTION_ANNOTATION, VM_ACTION_RESTART, VM_ACTION_START, VM_EVICT_ANNOTATION
from atoll.clock import Clock
from atoll.events import NORMAL
from atoll.ports import Creator, Updater
from atoll.v1 import virtualmachine_pb2
from atoll.vm_runs import evicted_from_its_node, run_ended, run_number
from controller.controllers.release import NODE_LOST_REASON
from controller.runtime.events import EventRecorder
from controller.runtime.informer import ObjectCache
from controller.runtime.keys import key_of
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

log = logging.getLogger(__name__)
NAME = "virtualmachine"
KIND = "VirtualMachine"


class VmApi(Creator, Updater, Protocol):
    """The API calls the controller makes (updates, and Events); ``atoll.client.Client`` satisfies it."""


def restart_reason(vm: virtualmachine_pb2.VirtualMachine) -> str | None:
    """Why this VM needs a new run placed now, or None. Pure: reads spec, status and annotations.
    A reason for a VM whose run on its node has not ended waits for its agent to end it."""
    strategy = vm.spec.run_strategy or "Always"
    phase = vm.status.phase
    ended = run_ended(vm)
    action = vm.metadata.annotations.get(VM_ACTION_ANNOTATION, "")
    if strategy == "Halted":
        return None
    if action == VM_ACTION_RESTART:
        return "restart requested"
    if action == VM_ACTION_START and ended:
        return "start requested"
    if not ended or vm.spec.power_state == "Stopped":
        return None
    lost = vm.status.reason == NODE_LOST_REASON
    if strategy == "Always":
        return "its node was lost" if lost else f"it is {phase} and the run strategy is Always"
    if strategy == "RerunOnFailure" and phase == "Failed":
        return "its node was lost" if lost else "it failed and the run strategy is RerunOnFailure"
    return None


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
        vms.add_handler(lambda _type, vm, _previous: self.queue.add(key_of(vm)))

    async def reconcile(self, key: str) -> Result | None:
        cached = self.vms.get(key)
        if cached is None or cached.metadata.HasField("deletion_timestamp"):
            return None
        vm = virtualmachine_pb2.VirtualMachine()
        vm.CopyFrom(cached)  # never change the cache's copy
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
        if reason is not None and vm.spec.node_name and not run_ended(vm):
            return None  # its agent ends the run first (vm_runs.run_end_requested); its status write brings us back
        if reason is not None and vm.spec.node_name:
            await self._place_again(vm, reason)
        elif action:  # a start on a VM that has not ended, or any action on one not placed yet
            vm.metadata.annotations.pop(VM_ACTION_ANNOTATION, None)
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
            await self.events.record(
                KIND, vm, NORMAL, "Evicted", f"run {run_number(vm)} stopped on node {node}, to be placed again"
            )

    async def _place_again(self, vm: virtualmachine_pb2.VirtualMachine, reason: str) -> None:
        """Unbind ``vm`` (its run ended) in one Update conditional on the revision read: the API
        server begins the next run in that write and the scheduler places it."""
        node, ended = vm.spec.node_name, run_number(vm)
        vm.spec.node_name = ""
        vm.metadata.annotations.pop(VM_ACTION_ANNOTATION, None)
        await self.api.update(vm)
        message = f"run {ended} on node {node} ended ({reason}): run {ended + 1} is placed again"
        await self.events.record(KIND, vm, NORMAL, "Restarting", message)
