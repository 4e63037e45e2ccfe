"""What the imperative verbs (``run``, ``create ...``, ``expose``) share: ``--dry-run``, ``-o``,
``-n`` and the one write they make, a Create through the API server (so server validation,
authorization and audit apply exactly as to ``apply``), printed as kubectl prints it:
``pod/web created``, or the object as the server returned it in the ``-o`` format.

``--dry-run=client`` prints the object that would be sent, sends nothing. atoll's API server has
no server-side dry run, so ``--dry-run=server`` is refused in one line rather than pretended.
A refused Create changes nothing (each verb writes one object); run again, a create whose name
is taken says AlreadyExists (exit 1), as kubectl does.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from atoll import kinds
from atoll.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Streams,
    add_namespace_flags,
    add_server_flag,
    run_with_client,
)
from atoll.cli.object_printer import ObjectPrinter
from atoll.cli.output import parse_output
from atoll.cli.printers import resource_name
from atoll.client import Client
from atoll.v1 import object_pb2

DRY_RUN_STRATEGIES = ("none", "client", "server")
SHOWN_FORMATS = ("yaml", "json", "name", "jsonpath")

Build = Callable[[], object_pb2.Object]
BuildWithClient = Callable[[Client], Awaitable[object_pb2.Object]]
# What a verb does with the object the server created instead of printing it (``run -i``).
AfterCreate = Callable[[Client, object_pb2.Object, Streams], Awaitable[int]]


def add_creation_flags(parser: argparse.ArgumentParser) -> None:
    """``--dry-run``, ``-o``, ``-n`` and the server flags (dests ``dry_run``, ``output``, ``namespace``)."""
    parser.add_argument(
        "--dry-run",
        choices=DRY_RUN_STRATEGIES,
        default="none",
        metavar="none|client",
        help="client: print the object that would be created, create nothing",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=parse_output,
        default=None,
        metavar="FORMAT",
        help="print the object: yaml, json, name or jsonpath=TEMPLATE (default: KIND/NAME created)",
    )
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)


def namespace_for(args: argparse.Namespace) -> str:
    return str(args.namespace or "default")


def check_creation_flags(args: argparse.Namespace) -> None:
    """CliError (one line) for a dry-run strategy or an output format a create cannot honour."""
    if args.dry_run == "server":
        raise CliError(
            "--dry-run=server: atoll's API server has no server-side dry run; "
            "--dry-run=client prints the object without creating it"
        )
    if args.output is not None and args.output.name not in SHOWN_FORMATS:
        raise CliError(f"-o {args.output.name}: a created object is printed as {', '.join(SHOWN_FORMATS)}")


def create_built(args: argparse.Namespace, build: Build, then: AfterCreate | None = None) -> int:
    """Run a verb whose object comes from its flags alone: check, build (CliError: one line,
    nothing sent), then print it (``--dry-run=client``, no server needed) or create it and print
    the result, or hand what the server created to ``then`` (whose exit code is returned)."""
    streams = Streams()
    try:
        check_creation_flags(args)
        obj = build()
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED
    if args.dry_run == "client":
        print_object(obj, args, streams, dry_run=True)
        return EXIT_OK
    if then is None:
        return run_with_client(args, lambda client, s: write(client, obj, args, s), streams)

    async def create_then(client: Client, s: Streams) -> int:
        return await then(client, await client.create(obj), s)

    return run_with_client(args, create_then, streams)


def create_read(args: argparse.Namespace, build: BuildWithClient) -> int:
    """Run a verb whose object is built from what the server holds (``expose``)."""

    async def body(client: Client, streams: Streams) -> int:
        check_creation_flags(args)
        return await write(client, await build(client), args, streams)

    return run_with_client(args, body)


async def write(client: Client, obj: object_pb2.Object, args: argparse.Namespace, streams: Streams) -> int:
    """Create ``obj`` (or only print it with ``--dry-run=client``) and print the result. A server
    refusal (AlreadyExists, Invalid, Forbidden) raises ApiError: run_with_client prints it."""
    if args.dry_run == "client":
        print_object(obj, args, streams, dry_run=True)
    else:
        print_object(await client.create(obj), args, streams, dry_run=False)
    return EXIT_OK


def print_object(obj: object_pb2.Object, args: argparse.Namespace, streams: Streams, *, dry_run: bool) -> None:
    if args.output is None:
        streams.out.write(f"{resource_name(obj)} created{' (dry run)' if dry_run else ''}\n")
        streams.out.flush()
        return
    printer = ObjectPrinter(kinds.of_object(obj), args.output, streams, all_namespaces=False)
    printer.print_all([obj], single=True)
