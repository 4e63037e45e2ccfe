"""``atoll logs pod/NAME [-c CONTAINER] [-f] [--tail N]`` and ``atoll logs vm/NAME``: a workload's
output, read through the API server (which asks the agent of the workload's node).

``NAME`` alone means a pod. A pod with several containers needs ``-c``. ``-f`` follows until the
container or VM ends (or Ctrl-C).
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
from atoll.cli.parser import examples
from atoll.client import Client
from atoll.user_text import bounded_repr
from atoll.v1 import agent_pb2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "logs",
        help="print the output of a pod's container or a VM's console",
        description="Print a workload's output: pod/NAME (or NAME), vm/NAME.",
        **examples(
            "atoll logs pod/web",
            "atoll logs web -c sidecar --tail 20 -f",
            "atoll logs vm/db",
        ),
    )
    parser.add_argument("target", metavar="pod/NAME|vm/NAME", help="the workload")
    parser.add_argument("-c", "--container", default="", help="the container (required when the pod has several)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    parser.add_argument("--tail", type=int, default=0, metavar="N", help="only the last N lines (default: all kept)")
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def parse_target(text: str) -> tuple[str, str]:
    """``pod/web`` -> ("Pod", "web"); ``web`` -> ("Pod", "web"); CliError for other kinds."""
    kind_text, slash, name = text.partition("/")
    if not slash:
        return "Pod", text
    kind = kinds.lookup(kind_text)
    if not kind.node_bound or not name:
        raise CliError(f"cannot show logs of {bounded_repr(text)}: give pod/NAME or vm/NAME")
    return kind.name, name


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: print_logs(client, args, streams))


async def print_logs(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    kind, name = parse_target(args.target)
    request = agent_pb2.LogsRequest(kind=kind, namespace=args.namespace or "default", name=name,
                                    container=args.container, follow=args.follow, tail_lines=max(0, args.tail))
    async for lines in client.logs(request):
        for line in lines:
            streams.out.write(line + "\n")
        streams.out.flush()
    return EXIT_OK
