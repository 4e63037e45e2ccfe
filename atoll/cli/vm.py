"""``atoll vm start|stop|restart|pause|resume|migrate NAME``: change a VirtualMachine's desired power state.

The verbs write desired state only (the rule per action: atoll/vm_power.py); the VirtualMachine
controller and the node's agent make it happen, and ``atoll get vm`` / ``atoll describe vm`` show
the transitions and Events.

- migrate: live-migrate it to another node (vm_migrate.py: ``--to``, ``--wait``, ``--cancel``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from atoll import kinds, vm_power
from atoll.cli import vm_migrate
from atoll.cli.common import EXIT_OK, CliError, Streams, add_namespace_flags, add_server_flag, run_with_client
from atoll.cli.parser import examples
from atoll.cli.scale import modify
from atoll.cli.targets import name_of
from atoll.client import Client
from atoll.v1 import virtualmachine_pb2

ACTIONS = (*vm_power.ACTIONS, "migrate")
_PAST = vm_power.PAST


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "vm",
        help="start, stop, restart, pause, resume or migrate a virtual machine",
        description="Power actions on a VirtualMachine (they set its desired state), and live migration.",
        **examples(
            "atoll vm start db",
            "atoll vm stop db -n prod",
            "atoll vm restart db",
            "atoll vm migrate db --to node-b --wait",
        ),
    )
    parser.add_argument("action", choices=ACTIONS, metavar="ACTION", help=" | ".join(ACTIONS))
    parser.add_argument("name", metavar="NAME", help="the virtual machine")
    add_namespace_flags(parser)
    vm_migrate.add_arguments(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def change_for(action: str, name: str) -> Callable[[virtualmachine_pb2.VirtualMachine], None]:
    """The edit ``action`` makes to a VirtualMachine (atoll/vm_power.py); raises CliError when it does not apply."""
    change = vm_power.change_for(action, name)

    def apply(vm: virtualmachine_pb2.VirtualMachine) -> None:
        try:
            change(vm)
        except vm_power.PowerActionError as exc:
            raise CliError(str(exc)) from None

    return apply


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: power(client, args, streams))


async def power(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    args.name = name_of(args.name, kinds.by_name("VirtualMachine"))  # NAME or vm/NAME
    if args.action == "migrate":
        return await vm_migrate.migrate(client, args, streams)
    if args.to or args.wait or args.cancel:
        raise CliError("--to, --wait and --cancel are options of `atoll vm migrate`")
    kind = kinds.by_name("VirtualMachine")
    namespace = str(args.namespace or "default")
    await modify(client, kind, namespace, args.name, change_for(args.action, args.name))
    streams.out.write(f"virtualmachine/{args.name} {_PAST[args.action]}\n")
    return EXIT_OK
