"""``atoll delete KIND NAME... | -f FILE``: delete objects, optionally waiting until they are gone.

An object with finalizers is only marked for deletion; ``--wait`` follows a watch until the
server reports it DELETED. ``--cascade`` chooses what happens to dependents (the garbage
collector reads it): background (default), foreground or orphan.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from atoll import kinds
from atoll.cli.apply import add_filename_flag, load_objects
from atoll.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Streams,
    add_namespace_flags,
    add_server_flag,
    namespace_of,
    run_with_client,
    server_error_line,
)
from atoll.client import ApiError, Client
from atoll.v1 import object_pb2
from atoll.watch_events import DELETED

CASCADE_POLICIES = ("background", "foreground", "orphan")


@dataclass(frozen=True)
class Target:
    """One object to delete."""

    kind: kinds.Kind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.singular}/{self.name}"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "delete",
        help="delete objects by name or by manifest",
        description="Delete objects named on the command line (KIND NAME...) or in manifests (-f).",
    )
    parser.add_argument("kind", metavar="KIND", nargs="?", help="kind of the objects to delete")
    parser.add_argument("names", metavar="NAME", nargs="*", help="names of the objects to delete")
    add_filename_flag(parser, required=False, verb="delete")
    add_namespace_flags(parser)
    parser.add_argument("--cascade", choices=CASCADE_POLICIES, help="what happens to dependents (default background)")
    parser.add_argument("--wait", action="store_true", help="wait until the objects are gone (finalizers done)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="give up waiting after SECONDS (0: never)",
    )
    parser.add_argument("--ignore-not-found", action="store_true", help="an absent object is not an error")
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def targets_from_args(args: argparse.Namespace) -> list[Target]:
    """The objects named by ``KIND NAME...``; CliError when the arguments name nothing."""
    if args.filenames:
        if args.kind:
            raise CliError("give either KIND NAME... or -f FILE, not both")
        return []
    if not args.kind:
        raise CliError("nothing to delete: give KIND NAME... or -f FILE")
    kind = kinds.lookup(args.kind)
    if not args.names:
        raise CliError(f"give the names of the {kind.plural} to delete")
    namespace = namespace_of(args, kind)
    return [Target(kind, namespace, name) for name in args.names]


def targets_from_objects(objects: Sequence[object_pb2.Object]) -> list[Target]:
    targets = []
    for obj in objects:
        kind = kinds.of_object(obj)
        meta = kinds.unwrap(obj).metadata
        namespace = (meta.namespace or "default") if kind.namespaced else ""
        targets.append(Target(kind, namespace, meta.name))
    return targets


def run(args: argparse.Namespace) -> int:
    streams = Streams()
    try:
        targets = targets_from_args(args)
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED
    if args.filenames:
        objects = load_objects(args.filenames, args.namespace, streams)
        if objects is None:
            return EXIT_FAILED
        targets = targets_from_objects(objects)
    return run_with_client(args, lambda client, s: delete_all(client, targets, args, s), streams)


async def delete_all(client: Client, targets: Sequence[Target], args: argparse.Namespace, streams: Streams) -> int:
    """Delete each target, printing ``pod/web deleted``; with ``--wait`` then wait for all of them
    to disappear (bounded by ``--timeout`` when positive). Returns 1 if any failed."""
    status = EXIT_OK
    pending: list[tuple[Target, int]] = []
    for target in targets:
        try:
            response = await client.delete(
                target.kind.name, target.name, target.namespace, propagation_policy=args.cascade or ""
            )
        except ApiError as err:
            if err.code == grpc.StatusCode.NOT_FOUND and args.ignore_not_found:
                continue
            streams.error(server_error_line(err, client.server))
            status = EXIT_FAILED
            if err.code == grpc.StatusCode.UNAVAILABLE:
                return status
            continue
        streams.out.write(f"{target} deleted\n")
        streams.out.flush()
        if not response.deleted:
            pending.append((target, kinds.unwrap(response.object).metadata.resource_version))
    if args.wait and pending:
        waits = asyncio.gather(*(wait_until_gone(client, target, revision) for target, revision in pending))
        try:
            await asyncio.wait_for(waits, args.timeout if args.timeout > 0 else None)
        except TimeoutError:
            names = ", ".join(str(target) for target, _ in pending)
            streams.error(f"error: timed out after {args.timeout:g}s waiting for {names} to be deleted")
            status = EXIT_FAILED
    return status


async def wait_until_gone(client: Client, target: Target, revision: int) -> None:
    """Return once ``target`` no longer exists: watch it from ``revision`` (the revision of the
    delete) until a DELETED event; a watch that ends early is checked with a get and reopened."""
    by_name = f"metadata.name={target.name}"
    while True:
        async for event in client.watch(
            target.kind.name, target.namespace, field_selector=by_name, resource_version=revision
        ):
            revision = max(revision, event.resource_version)
            if event.type == DELETED:
                return
        try:
            current = await client.get(target.kind.name, target.name, target.namespace)
        except ApiError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return
            raise
        revision = max(revision, kinds.unwrap(current).metadata.resource_version)
