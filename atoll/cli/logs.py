"""``atoll logs pod/NAME [-c CONTAINER] [-f] [-p] [--tail N] [--since D | --since-time T]
[--timestamps]`` and ``atoll logs vm/NAME``: a workload's output, read through the API server
(which asks the agent of the workload's node).

``NAME`` alone means a pod. A pod with several containers needs ``-c``. ``-f`` follows until the
container or VM ends (or Ctrl-C). ``-p``: the container's run before its last restart. Lines are
stamped when written, so ``--since`` filters on the node and ``--timestamps`` prints the stamps
(RFC 3339, nanoseconds, as kubectl); a VM's serial console records no times.
"""

from __future__ import annotations

import argparse
import math
import re
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from atoll import kinds
from atoll.cli.common import (
    EXIT_OK,
    CliError,
    Streams,
    add_namespace_flags,
    add_server_flag,
    run_with_client,
)
from atoll.cli.duration import parse_duration
from atoll.cli.parser import examples
from atoll.client import Client
from atoll.user_text import bounded_repr
from atoll.v1 import agent_pb2

# RFC 3339 date-time: the whole seconds, an optional fraction (to nanoseconds), the offset.
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "logs",
        help="print the output of a pod's container or a VM's console",
        description="Print a workload's output: pod/NAME (or NAME), vm/NAME.",
        **examples(
            "atoll logs pod/web",
            "atoll logs web -c sidecar --tail 20 -f",
            "atoll logs web --previous",
            "atoll logs web --since 10m --timestamps",
            "atoll logs vm/db",
        ),
    )
    parser.add_argument("target", metavar="pod/NAME|vm/NAME", help="the workload")
    parser.add_argument("-c", "--container", default="", help="the container (required when the pod has several)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    parser.add_argument("--tail", type=tail_lines, default=-1, metavar="N",
                        help="only the last N lines (default -1: all kept)")
    parser.add_argument("-p", "--previous", action="store_true",
                        help="the container's run before its last restart")
    parser.add_argument("--timestamps", action="store_true",
                        help="start each line with the time it was written (RFC 3339)")
    since = parser.add_mutually_exclusive_group()
    since.add_argument("--since", type=parse_duration, metavar="DURATION",
                       help="only lines written in the last DURATION (5s, 2m, 3h)")
    since.add_argument("--since-time", type=rfc3339_time, metavar="TIME",
                       help="only lines written at or after TIME (RFC 3339: 2026-12-04T09:20:38Z)")
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


def tail_lines(text: str) -> int:
    """argparse type of ``--tail``: -1 (all) or a count; ArgumentTypeError (one line) else."""
    try:
        count = int(text)
    except ValueError:
        count = -2
    if count < -1:
        raise argparse.ArgumentTypeError(f"invalid line count {bounded_repr(text)}: give -1 (all) or N >= 0")
    return count


def rfc3339_time(text: str) -> Timestamp:
    """argparse type of ``--since-time``: an RFC 3339 time with its offset (fractions to the
    nanosecond); ArgumentTypeError (one line) else."""
    match = _RFC3339.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError
        whole, fraction, offset = match.groups()
        moment = datetime.fromisoformat(whole + offset.replace("z", "Z"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {bounded_repr(text)}: use RFC 3339, e.g. 2026-12-04T09:20:38Z") from None
    stamp = Timestamp()
    stamp.FromNanoseconds(int(moment.timestamp()) * 1_000_000_000 + int((fraction or "0").ljust(9, "0")))
    return stamp


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: print_logs(client, args, streams))


async def print_logs(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    kind, name = parse_target(args.target)
    if args.previous and args.follow:
        raise CliError("--previous and --follow do not go together: a previous run has ended")
    request = agent_pb2.LogsRequest(kind=kind, namespace=args.namespace or "default", name=name,
                                    container=args.container, follow=args.follow, previous=args.previous,
                                    timestamps=args.timestamps, since_seconds=math.ceil(args.since or 0))
    if args.tail >= 0:
        request.tail_lines = args.tail
    if args.since_time is not None:
        request.since_time.CopyFrom(args.since_time)
    async for lines in client.logs(request):
        for line in lines:
            streams.out.write(line + "\n")
        streams.out.flush()
    return EXIT_OK
