"""``atoll patch KIND NAME | KIND/NAME -p PATCH [--type strategic|merge|json]``: change fields of
objects in place (patching.py says what each type does), written with the revision read
(modify.py). A patch that changes nothing prints ``patched (no change)`` and writes nothing."""

from __future__ import annotations

import argparse
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
    server_error_line,
)
from atoll.cli.modify import modify_object
from atoll.cli.patching import PATCH_TYPES, apply_patch
from atoll.cli.printers import resource_name
from atoll.cli.targets import add_kind_and_names, kind_requests
from atoll.client import ApiError, Client
from atoll.user_text import bounded
from atoll.v1 import object_pb2

MAX_PATCH_BYTES = 1024 * 1024
EXAMPLES = """examples:
  atoll patch deploy web -p '{"spec":{"replicas":3}}'
  atoll patch pod/web --type merge -p '{"metadata":{"labels":{"tier":null}}}'
  atoll patch deploy/web -p 'spec: {template: {spec: {containers: [{name: main, image: nginx:2}]}}}'
  atoll patch vm db --type json -p '[{"op":"replace","path":"/spec/memory","value":"2Gi"}]'
  atoll patch node n1 --patch-file unschedulable.yaml"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "patch",
        help="change fields of objects with a strategic, merge or JSON patch",
        description="Change fields of objects in place with a patch in JSON or YAML.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_kind_and_names(parser, "patch")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-p", "--patch", metavar="PATCH", help="the patch, JSON or YAML")
    source.add_argument("--patch-file", metavar="FILE", help="a file holding the patch")
    parser.add_argument("--type", choices=PATCH_TYPES, default="strategic", help="patch type (default strategic)")
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def read_patch(args: argparse.Namespace) -> Any:
    """The parsed patch document; CliError when it is unreadable or not JSON/YAML."""
    import yaml

    text = args.patch
    if text is None:
        try:
            with open(args.patch_file, encoding="utf-8") as handle:
                text = handle.read(MAX_PATCH_BYTES + 1)
        except OSError as err:
            raise CliError(f"cannot read {bounded(args.patch_file, 200)}: {err.strerror}") from None
    if len(text) > MAX_PATCH_BYTES:
        raise CliError(f"the patch is larger than {MAX_PATCH_BYTES} bytes")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CliError(f"the patch is neither JSON nor YAML: {bounded(str(err).splitlines()[0], 200)}") from None


def patched_object(obj: object_pb2.Object, patch: Any, patch_type: str) -> object_pb2.Object | None:
    """``obj`` with the patch applied, or None when that changes nothing; CliError when the result
    renames the object or is not a valid manifest of its kind (field path named)."""
    from atoll.manifest import ManifestErrors, from_manifest, to_manifest

    document = to_manifest(obj)
    result = apply_patch(document, patch, patch_type)
    for path in (("kind",), ("metadata", "name"), ("metadata", "namespace")):
        if _at(result, path) != _at(document, path):
            raise CliError(f"{resource_name(obj)}: a patch cannot change {'.'.join(path)}")
    try:
        patched = from_manifest(result, "patch", 0)
    except ManifestErrors as failed:
        raise CliError(f"{resource_name(obj)}: {failed.errors[0].path}: {failed.errors[0].message}") from None
    return None if patched == obj else patched


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def run(args: argparse.Namespace) -> int:
    streams = Streams()
    try:
        patch = read_patch(args)
        requests = kind_requests(args.kind, args.names, "patch")
        if not all(request.names for request in requests):
            raise CliError("give the names of the objects to patch (KIND NAME... or KIND/NAME...)")
        if (args.type == "json") != isinstance(patch, list):
            shape = "a list of operations" if args.type == "json" else "a map (a JSON object)"
            raise CliError(f"a {args.type} patch must be {shape}")
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED

    async def body(client: Client, s: Streams) -> int:
        status = EXIT_OK
        for request in requests:
            for name in request.names:
                try:
                    obj, written = await modify_object(
                        client, request.kind, namespace_of(args, request.kind), name,
                        lambda current: patched_object(current, patch, args.type),
                    )
                except ApiError as err:
                    s.error(server_error_line(err, client.server))
                    status = EXIT_FAILED
                    continue
                except CliError as err:
                    s.error(f"error: {err}")
                    status = EXIT_FAILED
                    continue
                s.out.write(f"{resource_name(obj)} patched{'' if written else ' (no change)'}\n")
                s.out.flush()
        return status

    return run_with_client(args, body, streams)
