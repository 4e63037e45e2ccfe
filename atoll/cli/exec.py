"""``atoll exec pod/NAME [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]``: run a command in a
running container through the API server (kubectl exec).

``-i`` sends stdin; ``-t`` gives the command a terminal (raw mode here, window size changes
forwarded, Ctrl-C delivered to the remote process). atoll's exit code is the remote command's
(126: not executable, 127: not found; 128+N: ended by signal N); 1 when the session could not be
opened. Ctrl-C without ``-t``, or the connection dropping, hangs up: the remote process gets SIGHUP.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from atoll import sessions
from atoll.cli.common import (
    CliError,
    OneLineErrorParser,
    Streams,
    add_namespace_flags,
    add_server_flag,
    run_with_client,
)
from atoll.cli.parser import examples
from atoll.cli.terminal import run_session
from atoll.client import Client
from atoll.user_text import bounded_repr


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "exec",
        help="run a command in a running container",
        description="Run COMMAND in a container of pod/NAME (or NAME): atoll exec web -it -- sh",
        **examples(
            "atoll exec web -- ls /",
            "atoll exec web -it -- sh",
        ),
    )
    parser.add_argument("target", metavar="pod/NAME", help="the pod")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARG...]", help="what to run")
    _add_session_flags(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def _add_session_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--container", default="", help="the container (required when the pod has several)")
    parser.add_argument("-i", "--stdin", action="store_true", help="send stdin to the command")
    parser.add_argument("-t", "--tty", action="store_true", help="give the command a terminal")
    add_namespace_flags(parser)


def split_command(args: argparse.Namespace) -> list[str]:
    """The command after ``--``. Flags between the pod and ``--`` (``atoll exec web -it -- sh``)
    land in ``args.command`` (argparse's remainder); they are parsed here into ``args``."""
    words = list(args.command)
    if "--" not in words:
        if words and words[0].startswith("-"):
            raise CliError("give the command after --: atoll exec pod/NAME [-c C] [-i] [-t] -- COMMAND [ARG...]")
        return words
    cut = words.index("--")
    flags = OneLineErrorParser(prog="atoll exec", add_help=False)
    _add_session_flags(flags)
    given = flags.parse_args(words[:cut])
    args.container = given.container or args.container
    args.stdin, args.tty = args.stdin or given.stdin, args.tty or given.tty
    args.namespace = given.namespace or args.namespace
    return words[cut + 1 :]


def pod_name(text: str) -> str:
    """``pod/web`` or ``web`` -> "web"; CliError for another kind."""
    kind, slash, name = text.partition("/")
    if not slash:
        return text
    if kind.lower() not in ("pod", "pods", "po") or not name:
        raise CliError(f"cannot exec into {bounded_repr(text)}: give pod/NAME (VMs: atoll console vm/NAME)")
    return name


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: exec_command(client, args, streams))


async def exec_command(client: Client, args: argparse.Namespace, streams: Streams, stdin_fd: int | None = None) -> int:
    """Runs the session; returns the remote exit code. ``stdin_fd``: where ``-i`` reads (default 0)."""
    command = split_command(args)
    if not command:
        raise CliError("give the command after --: atoll exec pod/NAME -- COMMAND [ARG...]")
    fd = (sys.stdin.fileno() if args.stdin or args.tty else -1) if stdin_fd is None else stdin_fd
    start = sessions.exec_start(args.namespace or "default", pod_name(args.target), command,
                                container=args.container, stdin=args.stdin, tty=bool(args.tty))
    return await run_session(client, start, streams, fd)
