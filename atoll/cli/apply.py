"""``atoll apply -f FILE|DIR|-``: make the server's objects match manifests.

Every document is decoded and validated before anything is sent; one bad document sends nothing.
Then each object is applied in order; a server error is printed and the rest still go (as kubectl
does), and the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import grpc

from atoll import kinds
from atoll.cli import printers
from atoll.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Streams,
    add_server_flag,
    namespace_name,
    run_with_client,
    server_error_line,
)
from atoll.cli.duration import parse_duration
from atoll.client import ApiError, Client
from atoll.v1 import object_pb2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "apply",
        help="create or update objects from manifests",
        description="Create or update objects from YAML/JSON manifests (files, directories, or - for stdin).\n"
        "With --wait, then wait until each is ready: pods, VMs and nodes Ready, deployments rolled out,\n"
        "claims Bound (other kinds are ready once written); a terminal shows one progress line.",
        epilog="examples:\n  atoll apply -f web.yaml\n  atoll apply -f deploy/ -R --wait --timeout 2m\n"
        "  atoll apply -f a.yaml,b.yaml -n prod\n  cat web.yaml | atoll apply -f -",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_filename_flag(parser, required=True, verb="apply")
    parser.add_argument(
        "-n",
        "--namespace",
        type=namespace_name,
        metavar="NS",
        help="namespace for documents that name none (must match those that do)",
    )
    parser.add_argument("--wait", action="store_true", help="then wait until every object is ready (see --help)")
    parser.add_argument(
        "--timeout", type=parse_duration, default=0.0, metavar="DURATION", help="give up waiting after this (0: never)"
    )
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def add_filename_flag(parser: argparse.ArgumentParser, *, required: bool, verb: str) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        dest="filenames",
        action="append",
        default=[] if not required else None,
        required=required,
        metavar="FILE",
        help=f"manifest file, directory or - for stdin; repeatable or comma-separated; objects to {verb}",
    )
    parser.add_argument(
        "-R", "--recursive", action="store_true", help="read the directories given with -f and all below them"
    )


def load_objects(
    filenames: Sequence[str], namespace: str | None, streams: Streams, *, recursive: bool = False
) -> list[object_pb2.Object] | None:
    """Decode and validate every manifest (``-f a.yaml,b.yaml`` is two files; a directory's own
    files, and those below it when ``recursive``); print each problem and return None if any.

    Objects of namespaced kinds without a namespace get ``namespace`` when given; a document
    naming another namespace than an explicit ``-n`` is an error, as in kubectl.
    """
    from atoll.manifest import ManifestErrors, load_paths  # deferred: the codec is large

    try:
        paths = [part for filename in filenames for part in filename.split(",") if part]
        documents = load_paths(paths, sys.stdin if "-" in paths else None, recursive=recursive)
    except ManifestErrors as failed:
        for error in failed.errors:
            streams.error(f"error: {error}")
        return None
    objects = []
    problems = []
    for document in documents:
        kind = kinds.of_object(document.object)
        meta = kinds.unwrap(document.object).metadata
        if kind.namespaced and namespace:
            if not meta.namespace:
                meta.namespace = namespace
            elif meta.namespace != namespace:
                problems.append(
                    f"error: {document.source} doc {document.index}: the namespace of the object "
                    f"({meta.namespace}) does not match --namespace {namespace}"
                )
        objects.append(document.object)
    for problem in problems:
        streams.error(problem)
    return None if problems else objects


def run(args: argparse.Namespace) -> int:
    streams = Streams()
    objects = load_objects(args.filenames, args.namespace, streams, recursive=args.recursive)
    if objects is None:
        return EXIT_FAILED

    async def body(client: Client, s: Streams) -> int:
        applied: list[object_pb2.Object] = []
        status = await apply_all(client, objects, s, applied)
        if args.wait and applied:
            from atoll.cli.apply_wait import wait_ready

            status = max(status, await wait_ready(client, applied, s, args.timeout or None))
        return status

    return run_with_client(args, body, streams)


async def apply_all(
    client: Client,
    objects: Sequence[object_pb2.Object],
    streams: Streams,
    applied: list[object_pb2.Object] | None = None,
) -> int:
    """Apply each object in order, printing ``pod/web created|configured|unchanged`` or the
    server's error (and appending what the server wrote to ``applied``); returns 1 if any failed."""
    if not objects:
        raise CliError("no objects passed to apply")
    status = EXIT_OK
    for obj in objects:
        try:
            response = await client.apply(obj)
        except ApiError as err:
            streams.error(server_error_line(err, client.server))
            if err.code == grpc.StatusCode.UNAVAILABLE:
                return EXIT_FAILED  # the server is gone: the remaining objects would fail the same way
            status = EXIT_FAILED
            continue
        if applied is not None:
            applied.append(response.object)
        streams.out.write(f"{printers.resource_name(obj)} {response.result}\n")
        streams.out.flush()
    return status
