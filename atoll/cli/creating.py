"""What the imperative verbs (``run``, ``create ...``, ``expose``) share: ``--dry-run``, ``-o``,
``-n`` and how they write. Each object is first checked as ``apply`` checks a manifest
(atoll/kinds/checks.py: one line, no server needed), then created with the normal Create of the
API server (so server validation, authorization and audit apply exactly as to ``apply``) and
printed as kubectl prints it: ``pod/web created``, or as the server returned it in the ``-o`` format.

``--dry-run=client`` prints the object that would be sent, sends nothing. atoll's API server has
no server-side dry run, so ``--dry-run=server`` is refused in one line rather than pretended.
A refused Create changes nothing: a verb that writes several objects (``run --expose``) deletes
those it created when a later one is refused. Run again, a create whose name is taken says
AlreadyExists (exit 1), as kubectl does.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Awaitable, Callable, Sequence

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
from atoll.client import ApiError, Client
from atoll.kinds.checks import validate
from atoll.user_text import bounded
from atoll.v1 import object_pb2

DRY_RUN_STRATEGIES = ("none", "client", "server")
SHOWN_FORMATS = ("yaml", "json", "name", "jsonpath")

# The object a verb builds from its flags, or several, created in order (``run --expose``).
Build = Callable[[], object_pb2.Object | Sequence[object_pb2.Object]]
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
    """Run a verb whose objects come from its flags alone: check, build (CliError: one line,
    nothing sent), then print them (``--dry-run=client``, no server needed) or create them
    (``create_all``) and print the result, or hand the last one the server created to ``then``
    (whose exit code is returned)."""
    streams = Streams()
    try:
        check_creation_flags(args)
        built = build()
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED
    objects = [built] if isinstance(built, object_pb2.Object) else list(built)
    try:
        check_objects(objects)
    except CliError as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED
    if args.dry_run == "client":
        print_objects(objects, args, streams, dry_run=True)
        return EXIT_OK

    async def body(client: Client, s: Streams) -> int:
        created = await create_all(client, objects)
        if then is not None:
            return await then(client, created[-1], s)
        print_objects(created, args, s, dry_run=False)
        return EXIT_OK

    return run_with_client(args, body, streams)


def create_read(args: argparse.Namespace, build: BuildWithClient) -> int:
    """Run a verb whose object is built from what the server holds (``expose``)."""

    async def body(client: Client, streams: Streams) -> int:
        check_creation_flags(args)
        obj = await build(client)
        check_objects([obj])
        dry_run = args.dry_run == "client"
        print_objects([obj] if dry_run else await create_all(client, [obj]), args, streams, dry_run=dry_run)
        return EXIT_OK

    return run_with_client(args, body)


def check_objects(objects: Sequence[object_pb2.Object]) -> None:
    """CliError, one line, when an object breaks a rule the API server would refuse it for: the
    checks ``apply`` makes of a manifest before sending it (atoll/kinds/checks.py), so a
    ``--dry-run=client`` never prints what the server would refuse and a mistake needs no server."""
    for obj in objects:
        problems = validate(obj)
        if problems:
            name = bounded(kinds.unwrap(obj).metadata.name, 100)
            raise CliError(f"{kinds.of_object(obj).singular}/{name}: " + "; ".join(map(str, problems[:5])))


async def create_all(client: Client, objects: Sequence[object_pb2.Object]) -> list[object_pb2.Object]:
    """Create ``objects`` in order; what the server created. When one is refused (ApiError:
    AlreadyExists, Invalid, Forbidden) or the command is interrupted, the ones this call created
    are deleted again before the error goes on, so nothing half-made is left: run_with_client
    prints the refusal."""
    created: list[object_pb2.Object] = []
    try:
        for obj in objects:
            created.append(await client.create(obj))
    except BaseException:
        for done in reversed(created):
            meta = kinds.unwrap(done).metadata
            with contextlib.suppress(ApiError):
                # No revision precondition: a controller may have written its status meanwhile.
                await client.delete(kinds.of_object(done).name, meta.name, meta.namespace)
        raise
    return created


def print_objects(
    objects: Sequence[object_pb2.Object], args: argparse.Namespace, streams: Streams, *, dry_run: bool
) -> None:
    """``KIND/NAME created`` a line each, or the objects in the ``-o`` format (one object as
    itself; several one after another, YAML documents separated by ``---``, as kubectl prints)."""
    if args.output is None:
        for obj in objects:
            streams.out.write(f"{resource_name(obj)} created{' (dry run)' if dry_run else ''}\n")
        streams.out.flush()
        return
    for obj in objects:
        printer = ObjectPrinter(kinds.of_object(obj), args.output, streams, all_namespaces=False)
        if len(objects) == 1:
            printer.print_all([obj], single=True)
        else:
            printer.print_stream([obj])
