"""What the ``set`` actions (``set image``, ``set env``) share: ``KIND/NAME... CHANGES...``
arguments, and changing each named object's pod spec (its kind's ``pod_spec``) with the revision
read, printing ``KIND/NAME OUTCOME`` or one line per failure while the other objects still go."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from atoll import kinds
from atoll.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Streams,
    add_namespace_flags,
    add_server_flag,
    namespace_of,
    run_with_client,
)
from atoll.cli.modify import Change, modify_and_report
from atoll.cli.printers import resource_name
from atoll.cli.targets import kind_requests
from atoll.client import Client
from atoll.user_text import bounded, bounded_repr
from atoll.v1 import object_pb2, pod_pb2

EVERY_CONTAINER = "*"  # a container name standing for all of them (set image '*=IMAGE', -c '*')
# The words after the objects -> the names among them and the change to make to each object.
Split = Callable[[list[str]], tuple[list[str], Change]]


def add_objects_then_changes(parser: argparse.ArgumentParser, changes: str | None) -> None:
    """``KIND/NAME... | KIND NAME...`` then the changes (dests ``kind``, ``words``), -n, server
    flags; ``changes`` None: the changes are flags, the words only names."""
    parser.add_argument("kind", metavar="KIND/NAME", help="deploy/NAME or pod/NAME (repeatable), or KIND NAME...")
    if changes is None:
        parser.add_argument("words", metavar="NAME", nargs="*", help="more names")
    else:
        parser.add_argument("words", metavar="ARG", nargs="+", help=f"more names, then {changes}...")
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)


def add_container_flag(parser: argparse.ArgumentParser) -> None:
    """``-c/--containers NAME`` (dest ``containers``; default ``EVERY_CONTAINER``)."""
    parser.add_argument(
        "-c", "--containers", default=EVERY_CONTAINER, metavar="NAME", help="only this container (default: every one)"
    )


def run_changes(args: argparse.Namespace, verb: str, split: Split, outcomes: tuple[str, str]) -> int:
    """Change every named object (``outcomes``: what is printed when it was written, when not)."""
    streams = Streams()
    try:
        names, change = split(list(args.words))
        requests = kind_requests(args.kind, names, verb)
        if not all(request.names for request in requests):
            raise CliError(f"give the objects by name: atoll {verb} deploy/NAME ...")
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED

    async def body(client: Client, s: Streams) -> int:
        status = EXIT_OK
        for request in requests:
            namespace = namespace_of(args, request.kind)
            for name in request.names:
                result = await modify_and_report(client, request.kind, namespace, name, change, s, outcomes)
                status = max(status, result)
        return status

    return run_with_client(args, body, streams)


def pod_spec_of(obj: object_pb2.Object) -> pod_pb2.PodSpec:
    """The pod spec ``obj`` runs or stamps out; CliError for an object without one."""
    spec = kinds.of_object(obj).pod_spec(kinds.unwrap(obj))
    if spec is None:
        raise CliError(f"{resource_name(obj)} runs no containers")
    return spec


def containers_named(obj: object_pb2.Object, names: Sequence[str]) -> list[pod_pb2.Container]:
    """The containers of ``obj``'s pod spec named in ``names`` (``EVERY_CONTAINER``: all of them);
    CliError naming the first one it lacks and those it has."""
    containers = list(pod_spec_of(obj).containers)
    have = [container.name for container in containers]
    missing = [name for name in names if name != EVERY_CONTAINER and name not in have]
    if missing:
        raise CliError(
            f"{resource_name(obj)}: no container named {bounded_repr(missing[0])} (it has {bounded(', '.join(have))})"
        )
    return [container for container in containers if EVERY_CONTAINER in names or container.name in names]
