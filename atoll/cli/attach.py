"""``atoll attach pod/NAME [-c CONTAINER] [-i] [-t]``: a running container's own output from now
on, through the API server (kubectl attach), until the container ends or Ctrl-C. ``-i`` sends
stdin to a container started with ``stdin: true``; ``-t`` attaches to the terminal of one started
with ``tty: true`` (raw mode here, window size changes forwarded, Ctrl-C reaches the container's
foreground process as the byte it is). Others refuse either in one line, as kubectl does
("Unable to use a TTY - container did not allocate one"); earlier output is in ``atoll logs``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from atoll.cli.common import Streams, add_namespace_flags, add_server_flag, run_with_client
from atoll.cli.exec import pod_name
from atoll.cli.parser import examples
from atoll.cli.terminal import run_session
from atoll.client import Client
from atoll.sessions import ATTACH
from atoll.v1 import access_pb2

# kubectl's line: what the container's shell drew before the attach is not drawn again
PROMPT_HINT = "If you don't see a command prompt, try pressing enter."


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "attach",
        help="follow a running container's own output, or type into its terminal",
        description="Follow the output of a container of pod/NAME (or NAME) from now on.",
        **examples(
            "atoll attach pod/web",
            "atoll attach web -c sidecar -n team-a",
            "atoll attach shell -it",
        ),
    )
    parser.add_argument("target", metavar="pod/NAME", help="the pod")
    parser.add_argument("-c", "--container", default="", help="the container (required when the pod has several)")
    parser.add_argument("-i", "--stdin", action="store_true", help="send stdin (to a container with stdin: true)")
    parser.add_argument("-t", "--tty", action="store_true", help="use the container's terminal (tty: true)")
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: attach(client, args, streams))


async def attach(client: Client, args: argparse.Namespace, streams: Streams, stdin_fd: int | None = None) -> int:
    """Runs the session; ``stdin_fd``: where ``-i`` reads (default 0)."""
    start = access_pb2.SessionStart(capability=ATTACH, kind="Pod", namespace=args.namespace or "default",
                                    name=pod_name(args.target), container=args.container, stdin=args.stdin,
                                    tty=args.tty)
    fd = (sys.stdin.fileno() if stdin_fd is None else stdin_fd) if args.stdin else -1
    return await run_session(client, start, streams, fd, hint=PROMPT_HINT if args.stdin and args.tty else "")
