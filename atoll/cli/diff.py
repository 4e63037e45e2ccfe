"""``atoll diff -f FILE|DIR|- [-R]``: what ``atoll apply`` of the same manifests would change, as a
unified diff of YAML per object (``live`` against ``applied``), predicted with the API server's
own apply rule (atoll/apply_merge.py).

Exit codes, as kubectl diff's: 0 nothing would change, 1 something would, 2 an error (one line on
stderr; a manifest error sends nothing). Server-kept fields (resourceVersion, generation, uid,
timestamps) and status are left out of both sides: apply never writes them.
"""

from __future__ import annotations

import argparse
import difflib
from typing import Any

import grpc

from atoll import kinds
from atoll.cli.apply import add_filename_flag, load_objects
from atoll.cli.common import Streams, add_server_flag, namespace_name, run_with_client, server_error_line
from atoll.cli.printers import resource_name
from atoll.client import ApiError, Client
from atoll.v1 import object_pb2

EXIT_SAME = 0
EXIT_DIFFERENT = 1
EXIT_ERROR = 2
SERVER_KEPT = ("resourceVersion", "generation", "uid", "creationTimestamp", "deletionTimestamp")
EXAMPLES = """examples:
  atoll diff -f web.yaml                 # exit 0: no change, 1: a change, 2: an error
  atoll diff -f deploy/ -R
  atoll diff -f web.yaml && echo up to date"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="show what apply would change (exit 1 when anything would)",
        description="Show what `atoll apply -f` would change, as a unified diff per object.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_filename_flag(parser, required=True, verb="compare")
    parser.add_argument(
        "-n", "--namespace", type=namespace_name, metavar="NS", help="namespace for documents that name none"
    )
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    streams = Streams()
    objects = load_objects(args.filenames, args.namespace, streams, recursive=args.recursive)
    if objects is None:
        return EXIT_ERROR
    status = run_with_client(args, lambda client, s: diff_all(client, objects, s), streams)
    return status if status in (EXIT_SAME, EXIT_DIFFERENT, EXIT_ERROR) else EXIT_ERROR


async def diff_all(client: Client, objects: list[object_pb2.Object], streams: Streams) -> int:
    """Print the diff of each object; EXIT_DIFFERENT when any differs, EXIT_ERROR on a server error."""
    different = False
    for obj in objects:
        kind = kinds.of_object(obj)
        meta = kinds.unwrap(obj).metadata
        namespace = (meta.namespace or "default") if kind.namespaced else ""
        try:
            live: object_pb2.Object | None = await client.get(kind.name, meta.name, namespace)
        except ApiError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                streams.error(server_error_line(err, client.server))
                return EXIT_ERROR
            live = None
        text = unified(obj, live)
        if text:
            different = True
            streams.out.write(text)
    streams.out.flush()
    return EXIT_DIFFERENT if different else EXIT_SAME


def unified(desired: object_pb2.Object, live: object_pb2.Object | None) -> str:
    """The unified diff between ``live`` (None: absent) and what applying ``desired`` stores."""
    from atoll.apply_merge import predicted_apply

    kind = kinds.of_object(desired)
    label = resource_name(desired)
    if live is None:
        before: list[str] = []
        wanted = kind.wrap(kinds.unwrap(desired))
        kinds.apply_defaults(wanted)
        after = _lines(wanted)
    else:
        before = _lines(live)
        after = _lines(kind.wrap(predicted_apply(kind, kinds.unwrap(live), kinds.unwrap(desired))))
    return "".join(difflib.unified_diff(before, after, f"live/{label}", f"applied/{label}"))


def _lines(obj: object_pb2.Object) -> list[str]:
    import yaml

    from atoll.manifest import to_manifest

    document = to_manifest(obj)
    document.pop("status", None)
    metadata = document.get("metadata", {})
    for key in SERVER_KEPT:
        metadata.pop(key, None)
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False).splitlines(keepends=True)
