"""``atoll delete KIND NAME... | KIND/NAME... | KIND -l SELECTOR | -f FILE``: delete objects,
optionally waiting until they are gone.

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
from atoll.cli.duration import parse_duration
from atoll.cli.parser import examples
from atoll.cli.targets import KindRequest, add_kind_and_names, kind_requests
from atoll.client import ApiError, Client
from atoll.user_text import bounded
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
        **examples(
            "atoll delete pod web api",
            "atoll delete pod/web vm/db --wait",
            "atoll delete pods -l app=web -n prod",
            "atoll delete -f web.yaml",
            "atoll delete deploy web --cascade foreground",
        ),
    )
    add_kind_and_names(parser, "delete")
    add_filename_flag(parser, required=False, verb="delete")
    add_namespace_flags(parser)
    parser.add_argument("-l", "--selector", default="", metavar="SELECTOR", help="delete every KIND object matching")
    parser.add_argument("--all", action="store_true", help="delete every KIND object in the namespace")
    parser.add_argument("--cascade", choices=CASCADE_POLICIES, help="what happens to dependents (default background)")
    parser.add_argument("--wait", action="store_true", help="wait until the objects are gone (finalizers done)")
    parser.add_argument(
        "--timeout",
        type=parse_duration,
        default=0.0,
        metavar="DURATION",
        help="give up waiting after DURATION (30s, 2m; 0: never)",
    )
    parser.add_argument("--ignore-not-found", action="store_true", help="an absent object is not an error")
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def requests_from_args(args: argparse.Namespace) -> list[KindRequest]:
    """The kinds and names ``KIND NAME... | KIND/NAME...`` ask for; a kind without names is all of
    its objects matching ``-l`` (or every one with ``--all``). CliError when the arguments name
    nothing or mix ways of choosing."""
    if args.filenames:
        if args.kind:
            raise CliError("give either KIND NAME... or -f FILE, not both")
        return []
    if not args.kind:
        raise CliError("nothing to delete: give KIND NAME..., KIND/NAME..., KIND -l SELECTOR or -f FILE")
    requests = kind_requests(args.kind, args.names, "delete")
    by_name = any(request.names for request in requests)
    if by_name and (args.selector or args.all):
        raise CliError("give either names or a selector (-l/--all), not both")
    if not by_name and not (args.selector or args.all):
        plurals = ",".join(request.kind.plural for request in requests)
        raise CliError(f"give the names of the {plurals} to delete, -l SELECTOR or --all")
    return requests


async def targets_of(client: Client, requests: Sequence[KindRequest], args: argparse.Namespace) -> list[Target]:
    """Each named object, and every object of a kind asked for without names that matches -l."""
    targets: list[Target] = []
    for request in requests:
        namespace = namespace_of(args, request.kind)
        if request.names:
            targets.extend(Target(request.kind, namespace, name) for name in request.names)
            continue
        listed, _ = await client.list_all(request.kind.name, namespace, args.selector)
        for obj in listed:
            meta = kinds.unwrap(obj).metadata
            targets.append(Target(request.kind, meta.namespace if request.kind.namespaced else "", meta.name))
    return targets


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
        requests = requests_from_args(args)
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED
    if args.filenames:
        objects = load_objects(args.filenames, args.namespace, streams, recursive=args.recursive)
        if objects is None:
            return EXIT_FAILED
        from_files = targets_from_objects(objects)

    async def body(client: Client, s: Streams) -> int:
        targets = from_files if args.filenames else await targets_of(client, requests, args)
        if not targets and not args.filenames:
            s.error(f"No resources found matching {bounded(args.selector or 'everything', 200)}")
            return EXIT_OK
        return await delete_all(client, targets, args, s)

    return run_with_client(args, body, streams)


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
            async with asyncio.timeout(args.timeout if args.timeout > 0 else None):
                await waits
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
