"""``atoll console vm/NAME``: the serial console of a running VM, through the API server (virtctl
console). Ctrl-] detaches (the VM runs on). Output from before the session is in ``atoll logs
vm/NAME``. Several people may watch one console; the first one connected types, the others are
told they are read-only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from typing import Any

from atoll.cli.common import EXIT_OK, CliError, Streams, add_namespace_flags, add_server_flag, run_with_client
from atoll.cli.parser import examples
from atoll.cli.terminal import copy_stdin, raw_terminal, write_output
from atoll.client import Client
from atoll.user_text import bounded_repr
from atoll.v1 import access_pb2

ESCAPE_HELP = "Ctrl-]"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "console",
        help="connect to the serial console of a running VM",
        description="Connect to the serial console of vm/NAME (or NAME); Ctrl-] detaches.",
        **examples(
            "atoll console vm/db",
            "atoll console db -n prod",
        ),
    )
    parser.add_argument("target", metavar="vm/NAME", help="the virtual machine")
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def vm_name(text: str) -> str:
    """``vm/box`` or ``box`` -> "box"; CliError for another kind."""
    kind, slash, name = text.partition("/")
    if not slash:
        return text
    if kind.lower() not in ("vm", "vms", "virtualmachine", "virtualmachines") or not name:
        raise CliError(f"no console for {bounded_repr(text)}: give vm/NAME (pods: atoll exec pod/NAME -it -- sh)")
    return name


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: console(client, args, streams))


async def console(client: Client, args: argparse.Namespace, streams: Streams, stdin_fd: int | None = None) -> int:
    """Runs the session until Ctrl-], the end of stdin or the VM's end; returns 0."""
    name = vm_name(args.target)
    fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    start = access_pb2.SessionStart(capability="console", kind="VirtualMachine",
                                    namespace=args.namespace or "default", name=name)
    session = await client.open_session(start)
    streams.error(f"connected to the console of vm/{name}; {ESCAPE_HELP} detaches")
    with contextlib.ExitStack() as stack:
        if os.isatty(fd):
            stack.enter_context(raw_terminal(fd))
        typing = asyncio.create_task(copy_stdin(session, fd, escape=True))
        showing = asyncio.create_task(_show(session, streams))
        try:
            await asyncio.wait({typing, showing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (typing, showing):
                task.cancel()
            for task in (typing, showing):
                with contextlib.suppress(asyncio.CancelledError):
                    await task  # an error the session ended with (ApiError) is raised here
            session.cancel()
    return EXIT_OK


async def _show(session: Any, streams: Streams) -> None:
    async for _, data in session.output():
        write_output(streams.out, data)
