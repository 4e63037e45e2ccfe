"""``atoll scale deploy/NAME --replicas N``: set a Deployment's replica count.

Also home of what the workload verbs share: parsing ``KIND/NAME`` (or ``KIND NAME``) and the
read-modify-write loop that retries when someone else wrote the object in between.
"""

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
    run_with_client,
)
from atoll.cli.modify import modify as modify  # re-exported: vm, node, rollout use it from here
from atoll.cli.parser import examples
from atoll.client import Client


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scale",
        help="set the number of replicas of a deployment",
        description="Set the replica count of a Deployment: atoll scale deploy/NAME --replicas N.",
        **examples(
            "atoll scale deploy/web --replicas 3",
            "atoll scale deploy web --replicas 0 -n prod",
        ),
    )
    add_target_arguments(parser)
    parser.add_argument("--replicas", type=int, required=True, metavar="N", help="the new replica count (>= 0)")
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def add_target_arguments(parser: argparse.ArgumentParser, what: str = "deployment") -> None:
    parser.add_argument("target", metavar="KIND/NAME", help=f"the {what}, e.g. deploy/web (or: deploy web)")
    parser.add_argument("name", metavar="NAME", nargs="?", help=argparse.SUPPRESS)


def target_of(args: argparse.Namespace, expected: str) -> tuple[kinds.Kind, str, str]:
    """(kind, namespace, name) from ``KIND/NAME`` or ``KIND NAME``; CliError unless the kind is
    ``expected`` (a canonical kind name)."""
    text: str = args.target
    if "/" in text:
        kind_text, _, name = text.partition("/")
    elif args.name:
        kind_text, name = text, args.name
    else:
        kind_text, name = expected, text
    kind = kinds.lookup(kind_text)
    if kind.name != expected:
        raise CliError(f"{kind.singular}/{name}: only {kinds.by_name(expected).plural} can be used here")
    if not name:
        example = kind.short[0] if kind.short else kind.singular
        raise CliError(f"give the name of the {kind.singular}, e.g. {example}/web")
    return kind, str(args.namespace or "default"), name


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: scale(client, args, streams))


async def scale(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    if args.replicas < 0:
        raise CliError(f"--replicas must not be negative, got {args.replicas}")
    kind, namespace, name = target_of(args, "Deployment")

    def set_replicas(deployment: Any) -> None:
        deployment.spec.replicas = args.replicas

    await modify(client, kind, namespace, name, set_replicas)
    streams.out.write(f"deployment/{name} scaled\n")
    return EXIT_OK
