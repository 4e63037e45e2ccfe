"""``atoll label`` and ``atoll annotate``: set (``KEY=VALUE``) or remove (``KEY-``) labels or
annotations of objects named as every verb names them (targets.py), or of all that match ``-l``.

A key that already has another value is refused unless ``--overwrite``, as kubectl does; keys and
label values are checked before anything is sent. Run twice, the second run changes nothing and
says "not labeled".
"""

from __future__ import annotations

import argparse
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
from atoll.cli.key_changes import split_key_changes
from atoll.cli.modify import modify_and_report
from atoll.cli.printers import resource_name
from atoll.cli.targets import add_kind_and_names, kind_requests
from atoll.client import Client
from atoll.labels import label_key_problem, label_value_problem
from atoll.user_text import bounded
from atoll.v1 import object_pb2


@dataclass(frozen=True)
class MapVerb:
    """``label`` (metadata.labels) or ``annotate`` (metadata.annotations)."""

    verb: str
    field: str
    done: str  # "labeled"
    what: str  # "label"
    check_value: Callable[[str], str | None]


LABEL = MapVerb("label", "labels", "labeled", "label", label_value_problem)
ANNOTATE = MapVerb("annotate", "annotations", "annotated", "annotation", lambda value: None)


def add_map_parser(subparsers: Any, spec: MapVerb, help: str, examples: str) -> None:
    parser = subparsers.add_parser(
        spec.verb,
        help=help,
        description=f"Set ({spec.what.upper()}=VALUE) or remove ({spec.what.upper()}-) {spec.field} of objects.",
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_kind_and_names(parser, f"{spec.verb}, then KEY=VALUE to set and KEY- to remove")
    add_namespace_flags(parser)
    parser.add_argument("-l", "--selector", default="", metavar="SELECTOR", help="every KIND object matching")
    parser.add_argument("--all", action="store_true", help="every KIND object in the namespace")
    parser.add_argument("--overwrite", action="store_true", help=f"replace a {spec.what} that has another value")
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=lambda args: run(args, spec))


def split_changes(words: list[str], spec: MapVerb) -> tuple[list[str], dict[str, str], list[str]]:
    """Names, then ``KEY=VALUE`` to set and ``KEY-`` to remove; CliError for a bad key or value."""

    def problem(key: str, value: str) -> str | None:
        return label_key_problem(key) or spec.check_value(value)

    return split_key_changes(words, spec.what, problem)


def run(args: argparse.Namespace, spec: MapVerb) -> int:
    streams = Streams()
    try:
        names, setting, removing = split_changes(list(args.names), spec)
        requests = kind_requests(args.kind, names, spec.verb)
        by_name = any(request.names for request in requests)
        if by_name == bool(args.selector or args.all):
            raise CliError("give either names or a selector (-l/--all)")
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED

    async def body(client: Client, s: Streams) -> int:
        status = EXIT_OK
        for request in requests:
            namespace = namespace_of(args, request.kind)
            names = list(request.names)
            if not names:
                listed, _ = await client.list_all(request.kind.name, namespace, args.selector)
                names = [kinds.unwrap(obj).metadata.name for obj in listed]
            for name in names:
                result = await _one(client, request.kind, namespace, name, args, spec, (setting, removing), s)
                status = max(status, result)
        return status

    return run_with_client(args, body, streams)


async def _one(
    client: Client,
    kind: kinds.Kind,
    namespace: str,
    name: str,
    args: argparse.Namespace,
    spec: MapVerb,
    changes: tuple[dict[str, str], list[str]],
    streams: Streams,
) -> int:
    setting, removing = changes

    def change(obj: object_pb2.Object) -> object_pb2.Object | None:
        entries = getattr(kinds.unwrap(obj).metadata, spec.field)
        for key, value in setting.items():
            if key in entries and entries[key] != value and not args.overwrite:
                raise CliError(
                    f"{resource_name(obj)}: {spec.what} {key!r} already has a value ({bounded(entries[key], 200)}), "
                    "and --overwrite is false"
                )
        before = dict(entries)
        for key in removing:
            entries.pop(key, None)
        entries.update(setting)
        return obj if dict(entries) != before else None

    return await modify_and_report(client, kind, namespace, name, change, streams, (spec.done, f"not {spec.done}"))
