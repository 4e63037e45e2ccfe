"""What each VM power action (``atoll vm ACTION``, the console's buttons, the HTTP API's
``virtualmachines/NAME/ACTION``) writes into a VirtualMachine's desired state: one rule, used by
the CLI and the API server.

- start: Halted becomes Always (as ``virtctl start``); power state Running; a stopped VM gets a new
  run (one-shot annotation ``vm.atoll.dev/action: start`` for the controller).
- stop: Always and RerunOnFailure become Halted (as ``virtctl stop``); power state Stopped.
- restart: a new run now (annotation ``restart``); refused for a Halted VM.
- pause / resume: power state Paused / Running; pause needs a running VM, resume a paused one.
"""

from __future__ import annotations

from collections.abc import Callable

from atoll.annotations import VM_ACTION_ANNOTATION, VM_ACTION_RESTART, VM_ACTION_START
from atoll.v1 import virtualmachine_pb2

ACTIONS = ("start", "stop", "restart", "pause", "resume")
PAST = {"start": "started", "stop": "stopped", "restart": "restarted", "pause": "paused", "resume": "resumed"}
Change = Callable[[virtualmachine_pb2.VirtualMachine], None]


class PowerActionError(ValueError):
    """The action does not apply to the VM as it is; the message says why and what to do."""


def change_for(action: str, name: str) -> Change:
    """The edit ``action`` (one of ACTIONS) makes to VirtualMachine ``name``; the edit raises
    PowerActionError when it does not apply."""

    def start(vm: virtualmachine_pb2.VirtualMachine) -> None:
        if vm.spec.run_strategy == "Halted":
            vm.spec.run_strategy = "Always"
        vm.spec.power_state = "Running"
        vm.metadata.annotations[VM_ACTION_ANNOTATION] = VM_ACTION_START

    def stop(vm: virtualmachine_pb2.VirtualMachine) -> None:
        if vm.spec.run_strategy in ("", "Always", "RerunOnFailure"):
            vm.spec.run_strategy = "Halted"
        vm.spec.power_state = "Stopped"
        vm.metadata.annotations.pop(VM_ACTION_ANNOTATION, None)

    def restart(vm: virtualmachine_pb2.VirtualMachine) -> None:
        if vm.spec.run_strategy == "Halted":
            raise PowerActionError(f"vm/{name} is halted (run strategy Halted): use `atoll vm start {name}`")
        vm.spec.power_state = "Running"
        vm.metadata.annotations[VM_ACTION_ANNOTATION] = VM_ACTION_RESTART

    def pause(vm: virtualmachine_pb2.VirtualMachine) -> None:
        if vm.status.phase != "Running":
            raise PowerActionError(f"cannot pause vm/{name}: it is {vm.status.phase or 'Pending'}, not Running")
        vm.spec.power_state = "Paused"

    def resume(vm: virtualmachine_pb2.VirtualMachine) -> None:
        if vm.spec.power_state != "Paused" and vm.status.phase != "Paused":
            raise PowerActionError(f"cannot resume vm/{name}: it is not paused")
        vm.spec.power_state = "Running"

    return {"start": start, "stop": stop, "restart": restart, "pause": pause, "resume": resume}[action]
