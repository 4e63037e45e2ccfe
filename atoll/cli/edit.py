"""``atoll edit KIND NAME | KIND/NAME``: open the object's manifest in ``$ATOLL_EDITOR``, else
``$EDITOR``, else vi; save to write it back, as kubectl edit does.

- Lines starting with ``#`` are ignored; an empty file or an unchanged one cancels the edit.
- A manifest that does not decode or validate, or that the server refuses as invalid or because
  the object changed meanwhile, re-opens the editor with the errors as comments on top. Saving it
  unchanged gives up: exit 1, and the edited text is kept in a file named on stderr.
- The written object keeps the revision that was read: someone else's write in between is never
  overwritten (the edit is re-opened on the newer object's error instead).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import tempfile
from typing import Any

import grpc

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
from atoll.cli.printers import resource_name
from atoll.cli.targets import add_kind_and_names, kind_requests
from atoll.client import ApiError, Client
from atoll.user_text import bounded
from atoll.v1 import object_pb2

HEADER = """# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
"""
EXAMPLES = """examples:
  atoll edit deploy web
  atoll edit pod/web -n prod
  EDITOR="code --wait" atoll edit vm db"""
# Errors the user can fix in the editor: re-open it with them on top.
REOPEN_CODES = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "edit",
        help="edit an object's manifest in $EDITOR and write it back",
        description="Edit an object in $ATOLL_EDITOR or $EDITOR (default vi); save to update it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_kind_and_names(parser, "edit")
    add_namespace_flags(parser)
    add_server_flag(parser, top_level=False)
    parser.set_defaults(run=run)


def editor_command() -> list[str]:
    """The editor as argv: $ATOLL_EDITOR, else $EDITOR, else vi (a shell-quoted command line)."""
    text = os.environ.get("ATOLL_EDITOR") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(text)
    except ValueError as err:
        raise CliError(f"cannot read the editor command {bounded(text, 200)!r}: {err}") from None
    if not words:
        raise CliError("the editor command is empty: set EDITOR")
    return words


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, lambda client, streams: execute(client, args, streams))


async def execute(client: Client, args: argparse.Namespace, streams: Streams) -> int:
    requests = kind_requests(args.kind, args.names, "edit")
    targets = [(request.kind, name) for request in requests for name in request.names]
    if len(targets) != 1:
        raise CliError("give exactly one object to edit (KIND NAME or KIND/NAME)")
    kind, name = targets[0]
    namespace = namespace_of(args, kind)
    current = await client.get(kind.name, name, namespace)
    return await edit_loop(client, current, editor_command(), streams)


async def edit_loop(client: Client, current: object_pb2.Object, editor: list[str], streams: Streams) -> int:
    """Edit until saved, cancelled or given up; see the module docstring."""
    import yaml

    from atoll.manifest import to_manifest

    original = yaml.safe_dump(to_manifest(current), sort_keys=False, default_flow_style=False)
    text = original
    errors: list[str] = []
    last_failed: str | None = None
    handle, path = tempfile.mkstemp(prefix="atoll-edit-", suffix=".yaml")
    os.close(handle)
    try:
        while True:
            edited = _edit(editor, path, _with_errors(text, errors))
            body = _without_comments(edited)
            if not body.strip():
                streams.error("Edit cancelled, no changes made.")
                return EXIT_OK
            if body == _without_comments(original):
                streams.error("Edit cancelled, no changes made.")
                return EXIT_OK
            if last_failed is not None and body == last_failed:
                kept = _keep_copy(body)
                for error in errors:
                    streams.error(f"error: {error}")
                streams.error(f'A copy of your changes has been stored to "{kept}"')
                return EXIT_FAILED
            text = body
            try:
                wanted = _decode(body, current)
                written = await client.update(wanted)
            except CliError as err:
                errors, last_failed = [str(err)], body
                continue
            except ApiError as err:
                if err.code not in REOPEN_CODES:
                    streams.error(server_error_line(err, client.server))
                    streams.error(f'A copy of your changes has been stored to "{_keep_copy(body)}"')
                    return EXIT_FAILED
                errors, last_failed = [server_error_line(err, client.server)], body
                continue
            streams.out.write(f"{resource_name(written)} edited\n")
            streams.out.flush()
            return EXIT_OK
    finally:
        os.unlink(path)


def _edit(editor: list[str], path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    try:
        finished = subprocess.run([*editor, path], check=False)
    except OSError as err:
        raise CliError(f"cannot start the editor {bounded(editor[0], 200)!r}: {err.strerror}") from None
    if finished.returncode != 0:
        raise CliError(f"the editor {bounded(editor[0], 200)!r} exited with {finished.returncode}; nothing changed")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _with_errors(text: str, errors: list[str]) -> str:
    if not errors:
        return HEADER + text
    lines = "".join(f"# {line}\n" for error in errors for line in error.splitlines())
    return f"{HEADER}# The edit could not be saved:\n{lines}#\n{text}"


def _without_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def _decode(body: str, current: object_pb2.Object) -> object_pb2.Object:
    """The edited object, checked like a manifest; CliError (all problems) when it is not one, or
    names another object than the one being edited."""
    from atoll.manifest import ManifestErrors, load_text

    try:
        documents = load_text(body, "edited")
    except ManifestErrors as failed:
        raise CliError("; ".join(f"{error.path}: {error.message}" if error.path else error.message
                                 for error in failed.errors)) from None
    if len(documents) != 1:
        raise CliError("the edited file must hold exactly one object")
    edited = documents[0].object
    before, after = kinds.unwrap(current).metadata, kinds.unwrap(edited).metadata
    if kinds.of_object(edited) != kinds.of_object(current) or after.name != before.name:
        raise CliError("the kind and name of an object cannot be changed by edit")
    if kinds.of_object(current).namespaced and after.namespace not in ("", before.namespace):
        raise CliError("the namespace of an object cannot be changed by edit")
    after.namespace = before.namespace
    if not after.resource_version:
        after.resource_version = before.resource_version
    return edited


def _keep_copy(body: str) -> str:
    handle, path = tempfile.mkstemp(prefix="atoll-edit-", suffix=".yaml")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(body)
    return path
