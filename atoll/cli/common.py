"""What every verb shares: the argument parser class, shared flags, running a verb against the
server, and turning every failure into one line on stderr with exit code 1."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import grpc

from atoll import kinds
from atoll.cli.parser import OneLineErrorParser as OneLineErrorParser  # re-exported for verb modules
from atoll.client import ApiError, Backoff, Client
from atoll.client_flags import add_client_flags, client_flags
from atoll.config import ConfigError, resolve_client_config
from atoll.user_text import bounded
from atoll.v1 import object_pb2
from atoll.validation.base import dns_label_problem

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
# A person is waiting: retry an unreachable server briefly (~0.3 s), then say so.
CLI_BACKOFF = Backoff(attempts=3)


class CliError(Exception):
    """A mistake in how the command was used; the message is one actionable line."""


@dataclass
class Streams:
    """Where a verb writes, and the clock it reads (epoch seconds); tests substitute all three."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    now: Callable[[], float] = time.time

    def error(self, line: str) -> None:
        self.err.write(line.rstrip("\n") + "\n")
        self.err.flush()


def add_server_flag(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """``--server HOST:PORT`` and the credential flags (atoll/client_flags.py), accepted before and
    after the verb (the later one wins)."""
    add_client_flags(parser, repeated=not top_level)


def namespace_name(text: str) -> str:
    """``-n``'s type: a namespace name (a DNS-1123 label, as the API server requires of every
    namespace) or "" (the default); argparse.ArgumentTypeError, one bounded line, for anything else,
    so no verb ever sends or echoes an impossible one."""
    problem = dns_label_problem(text) if text else None
    if problem is not None:
        raise argparse.ArgumentTypeError(f"invalid namespace: {problem}")
    return text


def add_namespace_flags(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    parser.add_argument("-n", "--namespace", type=namespace_name, metavar="NS", help="namespace (default: default)")
    if all_namespaces:
        parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace (overrides -n)")


def require_kind(args: argparse.Namespace, verb: str) -> kinds.Kind:
    """The kind named by the KIND argument; CliError (listing the kinds) when it is missing."""
    if not args.kind:
        known = ", ".join(kind.plural for kind in kinds.KINDS)
        raise CliError(f"give the kind of objects to {verb}: one of {known}")
    return kinds.lookup(args.kind)


def namespace_of(args: argparse.Namespace, kind: kinds.Kind) -> str:
    """The namespace a verb acts in: "" for cluster-scoped kinds and for -A; else -n or default."""
    if not kind.namespaced or getattr(args, "all_namespaces", False):
        return ""
    return str(args.namespace or "default")


async def get_named(
    client: Client, kind: kinds.Kind, names: Sequence[str], namespace: str, streams: Streams
) -> tuple[list[object_pb2.Object], int]:
    """The named objects that could be fetched, and the exit code: each server error is printed
    (one line) and makes it EXIT_FAILED, while the other names are still fetched."""
    objects: list[object_pb2.Object] = []
    status = EXIT_OK
    for name in names:
        try:
            objects.append(await client.get(kind.name, name, namespace))
        except ApiError as err:
            streams.error(server_error_line(err, client.server))
            status = EXIT_FAILED
    return objects, status


def server_error_line(err: ApiError, server: str) -> str:
    """One line for a failed call: kubectl's ``Error from server (Reason): message``, or, when the
    server cannot be reached at all, what to do about it."""
    if err.code == grpc.StatusCode.UNAVAILABLE:
        return unreachable_line(server, err.message)
    return f"Error from server ({err.reason}): {err.message}"


def unreachable_line(server: str, details: str) -> str:
    lowered = details.lower()
    if "connection refused" in lowered:
        cause = "connection refused"
    elif "dns resolution failed" in lowered or "name or service not known" in lowered:
        cause = "unknown host"
    elif "deadline" in lowered or "timed out" in lowered or "timeout" in lowered:
        cause = "timed out"
    else:
        cause = details
    # ``server`` is as resolved (atoll/server_addresses.py: a missing port is 7443), so the line
    # names the very addresses tried.
    return f"cannot reach the atoll server at {bounded(server, 400)}: {cause} (is `atoll up` running?)"


Body = Callable[[Client, Streams], Awaitable[int]]


def run_with_client(args: argparse.Namespace, body: Body, streams: Streams | None = None) -> int:
    """Resolve the server, connect, run ``body`` and map every expected failure to one stderr line.

    Returns the exit code: ``body``'s, 1 for any error, 130 on Ctrl-C. Unexpected exceptions (bugs)
    still raise with a traceback.
    """
    streams = streams or Streams()
    try:
        config = resolve_client_config(client_flags(args), notice=streams.error)
    except ConfigError as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED

    async def connected() -> int:
        async with Client.connect(config, backoff=CLI_BACKOFF) as client:
            return await body(client, streams)

    try:
        return asyncio.run(connected())
    except ApiError as err:
        streams.error(server_error_line(err, config.server))
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
    except BrokenPipeError:
        raise  # the reader went away (atoll get pods | head): main() ends quietly
    except OSError as err:  # a credential file that vanished after it was checked
        streams.error(f"error: {err.strerror or err}: {err.filename}")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_FAILED
