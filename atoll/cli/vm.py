"""``atoll vm start|stop|restart|pause|resume NAME``: change a VirtualMachine's desired power state.

The verbs write desired state only; the VirtualMachine controller and the node's agent make it
happen, and ``atoll get vm`` / ``atoll describe vm`` show the transitions and Events.

- start: Halted becomes Always (as ``virtctl start``); power state Running; a stopped VM gets a new
  run (one-shot annotation ``vm.atoll.dev/action: start`` for the controller).
- stop: Always and RerunOnFailure become Halted (as ``virtctl stop``); power state Stopped.
- restart: a new run now (annotation ``restart``); refused for a Halted VM.
- pause / resume: power state Paused / Running; pause needs a running VM, resume a paused one.
- migrate: live-migrate it to another node (vm_migrate.py: ``--to``, ``--wait``, ``--cancel``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from atoll import kinds
from atoll.annotations import VM_ACTION_ANNOTATION, VM_ACTION_RESTART, VM_ACTION_START
from atoll.cli import vm_migrate
from atoll.cli.common import EXIT_OK, CliError, Streams, add_namespace_flags, add_server_flag, run_with_client
from atoll.cli.scale import modify
from atoll.client import Client
from atoll.v1 import virtualmachine_pb2

ACTIONS = ("start", "stop", "restart", "pause", "resume", "migrate")
_PAST = {"start": "started", "stop": "stopped", "restart": "restarted", "pause": "paused", "resume": "resumed"}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "vm",
        help="start, stop, restart, pause, resume or migrate a virtual machine",
        description="Power actions on a VirtualMachine (they set its desired state), and live migration.",
    )
    parser.add_argument("action", choices=ACTIONS, metavar="ACTION", help=" | ".join(ACTIONS))
    parser.add_argument("name", metavar="NAME", help="the virtual machine")
    add_namespace_flags(parser)
    vm_migrate.add_arguments(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def change_for(action: str, name: str) -> Callable[[virtualmachine_pb2.VirtualMachine], None]:
    """The edit ``action`` makes to a VirtualMachine; raises CliError when it does not apply."""

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
            raise CliError(f"vm/{name} is halted (run strategy Halted): use `atoll vm start {name}`")
        vm.spec.power_state = "Running"
        vm.metadata.annotations[VM_ACTION_ANNOTATION] = VM_ACTION_RESTART

    def pause(vm: virtualmachine_pb2.VirtualMachine) -> None:
        if vm.status.phase != "Running":
            raise CliError(f"cannot pause vm/{name}: it is {vm.status.phase or 'Pending'}, not Running")
        vm.spec.power_state = "Paused"

    def resume(vm: virtualmachine_pb2.VirtualMachine) -> None:
        if vm.spec.power_state != "Paused" and vm.status.phase != "Paused":
            raise CliError(f"cannot resume vm/{name}: it is not paused")
        vm.spec.power_state = "Running"

    return {"start": start, "stop": stop, "restart": restart, "pause": pause, "resume": resume}[action]


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: power(client, args, streams))


async def power(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    if args.action == "migrate":
        return await vm_migrate.migrate(client, args, streams)
    if args.to or args.wait or args.cancel:
        raise CliError("--to, --wait and --cancel are options of `atoll vm migrate`")
    kind = kinds.by_name("VirtualMachine")
    namespace = str(args.namespace or "default")
    await modify(client, kind, namespace, args.name, change_for(args.action, args.name))
    streams.out.write(f"virtualmachine/{args.name} {_PAST[args.action]}\n")
    return EXIT_OK
