"""``atoll wait KIND NAME... | KIND/NAME... | KIND -l SELECTOR --for=CONDITION [--timeout 30s]``:
block until each object meets a condition, as kubectl wait does.

``--for`` is ``condition=NAME[=VALUE]`` (a ``status.conditions`` entry of that type whose status is
VALUE, default True; case-insensitive), ``delete`` (the object is gone) or
``jsonpath=EXPR[=VALUE]`` (the first value the JSONPath finds equals VALUE; without VALUE, that it
finds a non-empty one). Each met object prints ``pod/web condition met``; at the timeout each
unmet one is named on stderr and the exit code is 1. ``--timeout 0`` checks once.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from atoll.cli.duration import parse_duration
from atoll.cli.follow import states
from atoll.cli.jsonpath import compile_expression, format_value
from atoll.cli.targets import add_kind_and_names, kind_requests
from atoll.client import Client
from atoll.user_text import bounded
from atoll.v1 import object_pb2

DEFAULT_TIMEOUT = 30.0
EXAMPLES = """examples:
  atoll wait pod web --for=condition=Ready
  atoll wait pods -l app=web --for=condition=Ready=False --timeout 2m
  atoll wait vm/db --for=jsonpath='{.status.phase}'=Running
  atoll wait pod/web pod/api --for=delete --timeout 60s"""


@dataclass(frozen=True)
class WaitFor:
    """A parsed ``--for``: ``met(manifest or None)`` says whether an object's state meets it."""

    text: str
    met: Callable[[dict[str, Any] | None], bool]


def parse_for(text: str) -> WaitFor:
    """argparse type of ``--for``; ArgumentTypeError (one line) for anything it cannot parse."""
    if text == "delete":
        return WaitFor(text, lambda document: document is None)
    kind, equals, rest = text.partition("=")
    if kind == "condition" and equals and rest:
        name, _, value = rest.partition("=")
        return WaitFor(text, _condition_met(name, value or "True"))
    if kind == "jsonpath" and equals and rest:
        expression, wanted = _split_jsonpath(rest)
        try:
            find = compile_expression(expression)
        except CliError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        return WaitFor(text, _jsonpath_met(find, wanted))
    raise argparse.ArgumentTypeError(
        f"invalid --for {bounded(text, 100)!r}: use condition=NAME[=VALUE], delete or jsonpath=EXPR[=VALUE]"
    )


def _condition_met(name: str, value: str) -> Callable[[dict[str, Any] | None], bool]:
    def met(document: dict[str, Any] | None) -> bool:
        conditions = ((document or {}).get("status") or {}).get("conditions") or []
        return any(
            str(c.get("type", "")).lower() == name.lower() and str(c.get("status", "")).lower() == value.lower()
            for c in conditions
        )

    return met


def _split_jsonpath(text: str) -> tuple[str, str | None]:
    """``{.status.phase}=Running`` or ``.status.phase=Running`` -> (expression, value or None)."""
    if text.startswith("{"):
        closing = text.find("}")
        if closing < 0:
            raise argparse.ArgumentTypeError(f"invalid --for jsonpath {bounded(text, 100)!r}: unclosed {{")
        rest = text[closing + 1 :]
        if rest and not rest.startswith("="):
            raise argparse.ArgumentTypeError(f"invalid --for jsonpath {bounded(text, 100)!r}: expected =VALUE after }}")
        return text[: closing + 1], rest[1:] if rest else None
    expression, equals, value = text.partition("=")
    return expression, value if equals else None


def _jsonpath_met(find: Callable[[Any], list[Any]], value: str | None) -> Callable[[dict[str, Any] | None], bool]:
    def met(document: dict[str, Any] | None) -> bool:
        if document is None:
            return False
        found = find(document)
        if value is None:
            return bool(found) and found[0] not in (None, "", [], {})
        return bool(found) and format_value(found[0]) == value

    return met


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "wait",
        help="wait until objects meet a condition, are deleted, or a field has a value",
        description="Block until each object meets --for, or the timeout passes.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_kind_and_names(parser, "wait for")
    parser.add_argument("--for", dest="wait_for", type=parse_for, required=True, metavar="CONDITION",
                        help="condition=NAME[=VALUE], delete or jsonpath=EXPR[=VALUE]")
    parser.add_argument("--timeout", type=parse_duration, default=DEFAULT_TIMEOUT, metavar="DURATION",
                        help="give up after this long (default 30s; 0: check once)")
    add_namespace_flags(parser)
    parser.add_argument("-l", "--selector", default="", metavar="SELECTOR", help="every KIND object matching")
    parser.add_argument("--all", action="store_true", help="every KIND object in the namespace")
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: execute(client, args, streams))


async def execute(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    requests = kind_requests(args.kind, args.names, "wait for")
    by_name = any(request.names for request in requests)
    if by_name == bool(args.selector or args.all):
        raise CliError("give either names or a selector (-l/--all)")
    targets: list[tuple[kinds.Kind, str, str]] = []
    for request in requests:
        namespace = namespace_of(args, request.kind)
        names = list(request.names)
        if not names:
            listed, _ = await client.list_all(request.kind.name, namespace, args.selector)
            names = [kinds.unwrap(obj).metadata.name for obj in listed]
        targets.extend((request.kind, namespace, name) for name in names)
    if not targets:
        raise CliError("no matching resources found")
    pending = {f"{kind.singular}/{name}" for kind, _, name in targets}

    async def one(kind: kinds.Kind, namespace: str, name: str) -> None:
        await _until_met(client, kind, namespace, name, args.wait_for)
        label = f"{kind.singular}/{name}"
        pending.discard(label)
        streams.out.write(f"{label} condition met\n")
        streams.out.flush()

    waits = asyncio.gather(*(one(*target) for target in targets))
    try:
        async with asyncio.timeout(max(args.timeout, 0.001)):
            await waits
    except TimeoutError:
        for label in sorted(pending):
            streams.error(f"error: timed out waiting for the condition on {label}")
        return EXIT_FAILED
    return EXIT_OK


async def _until_met(client: Client, kind: kinds.Kind, namespace: str, name: str, wait_for: WaitFor) -> None:
    from atoll.manifest import to_manifest

    first = True
    async for state in states(client, kind, namespace, name):
        if first and state is None and wait_for.text != "delete":

            await client.get(kind.name, name, namespace)  # NotFound, as kubectl says it
        first = False
        if wait_for.met(to_manifest(state) if isinstance(state, object_pb2.Object) else None):
            return
