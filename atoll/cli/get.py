"""``atoll get KIND [NAME...] | KIND/NAME...``: list or fetch objects as a table, wide table, YAML, JSON or names;
``-w`` prints the current objects and then follows changes."""

from __future__ import annotations

import argparse
from typing import Any

from atoll import kinds
from atoll.cli.common import (
    EXIT_OK,
    CliError,
    Streams,
    add_namespace_flags,
    add_server_flag,
    get_named,
    namespace_of,
    run_with_client,
)
from atoll.cli.object_printer import DOCUMENT_FORMATS, ObjectPrinter, Shape
from atoll.cli.output import add_output_flags, label_columns
from atoll.cli.parser import examples
from atoll.cli.targets import KindRequest, add_kind_and_names, kind_requests
from atoll.client import Client
from atoll.v1 import object_pb2
from atoll.watch_events import BOOKMARK

DEFAULT_CHUNK_SIZE = 500


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "get",
        help="list objects of one kind, or show some by name",
        description="List objects of one kind (pods, vms, deploy, nodes, events, ns, leases) or fetch some.",
        **examples(
            "atoll get pods",
            "atoll get pod -n prod web api -o wide",
            "atoll get pod/web vm/db",
            "atoll get pods -A -l app=web --sort-by .metadata.creationTimestamp",
            "atoll get pods -o jsonpath='{range .items[*]}{.metadata.name}{\"\\\\n\"}{end}'",
            "atoll get pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName",
            "atoll get nodes --show-labels -L zone",
            "atoll get vms -w",
        ),
    )
    add_kind_and_names(parser, "show (default: all)")
    add_namespace_flags(parser, all_namespaces=True)
    parser.add_argument("-l", "--selector", default="", metavar="SELECTOR", help="label selector: app=web,tier!=db")
    parser.add_argument("--field-selector", default="", metavar="SELECTOR", help="field selector: spec.nodeName=n1")
    add_output_flags(parser)
    parser.add_argument("-w", "--watch", action="store_true", help="after listing, follow changes")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="N",
        help=f"fetch lists N objects at a time (default {DEFAULT_CHUNK_SIZE}; 0: all at once)",
    )
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: execute(client, args, streams))


async def execute(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    """Print what ``args`` asks for; per-name server errors are printed and make the exit code 1."""
    requests = kind_requests(args.kind, args.names, "get")
    named = any(request.names for request in requests)
    if named and args.all_namespaces:
        raise CliError("a resource cannot be retrieved by name across all namespaces; use -n NS")
    if args.chunk_size < 0:
        raise CliError(f"--chunk-size must be 0 or more, got {args.chunk_size}")
    if args.watch:
        if len(requests) != 1:
            raise CliError("watch is only supported on one kind at a time")
        return await _watch(client, requests[0], args, streams)
    status = EXIT_OK
    found: list[tuple[kinds.Kind, list[object_pb2.Object]]] = []
    for request in requests:
        namespace = namespace_of(args, request.kind)
        if request.names:
            objects, failed = await get_named(client, request.kind, request.names, namespace, streams)
            status = max(status, failed)
        else:
            objects, _ = await client.list_all(
                request.kind.name, namespace, args.selector, args.field_selector, args.chunk_size
            )
        found.append((request.kind, objects))
    every = [obj for _, objects in found for obj in objects]
    if not every and (named or args.output.name not in DOCUMENT_FORMATS):  # an empty list is still a List
        if not named and args.output.is_table:
            streams.error(no_resources_message(requests[0].kind, namespace_of(args, requests[0].kind)))
        return status
    if args.output.name in DOCUMENT_FORMATS:
        single = len(requests) == 1 and len(requests[0].names) == 1
        printer_for(requests[0].kind, args, streams).print_all(every, single=single)
        return status
    shown = [(kind, objects) for kind, objects in found if objects]
    for index, (kind, objects) in enumerate(shown):
        if index and args.output.name != "name":
            streams.out.write("\n")
        printer_for(kind, args, streams).print_all(objects, single=False)
    return status


def printer_for(kind: kinds.Kind, args: argparse.Namespace, streams: Streams) -> ObjectPrinter:
    """The printer the output flags ask for (``-o``, ``-L``, ``--show-labels``, ``--sort-by``, ``--no-headers``)."""
    shape = Shape(tuple(label_columns(args)), args.no_headers, args.sort_by)
    return ObjectPrinter(kind, args.output, streams, all_namespaces=args.all_namespaces, shape=shape)


def no_resources_message(kind: kinds.Kind, namespace: str) -> str:
    """kubectl's wording: ``No resources found in default namespace.`` or ``No resources found``."""
    if kind.namespaced and namespace:
        return f"No resources found in {namespace} namespace."
    return "No resources found"


async def _watch(client: Client, request: KindRequest, args: argparse.Namespace, streams: Streams) -> int:
    """List (or get the one named object), print, then print each change until interrupted."""
    kind, names = request.kind, request.names
    namespace = namespace_of(args, kind)
    if len(names) > 1:
        raise CliError("watch is only supported on one object or on a whole list, not on several names")
    field_selector = args.field_selector
    if names:
        by_name = f"metadata.name={names[0]}"
        field_selector = f"{field_selector},{by_name}" if field_selector else by_name
    objects, revision = await client.list_all(kind.name, namespace, args.selector, field_selector, args.chunk_size)
    if names and not objects:
        await client.get(kind.name, names[0], namespace)  # raises the server's NotFound
    printer = printer_for(kind, args, streams)
    printer.print_stream(objects)
    async for event in client.watch(kind.name, namespace, args.selector, field_selector, resource_version=revision):
        if event.type != BOOKMARK and event.HasField("object"):
            printer.print_stream([event.object])
    return EXIT_OK
