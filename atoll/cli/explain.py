"""``atoll explain KIND[.FIELD...]``: the documentation of a kind or one of its fields, from the
proto descriptors (names, types) and the comments of proto/ (atoll/proto_docs.py), as kubectl
explain prints it. Field names are the manifest's (camelCase); snake_case is accepted too."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from atoll import kinds
from atoll.cli.common import CliError
from atoll.proto_docs import docs
from atoll.suggest import did_you_mean
from atoll.user_text import bounded

INDENT = "    "
EXAMPLES = """examples:
  atoll explain pod
  atoll explain pod.spec.windows
  atoll explain vm.spec.disks
  atoll explain deploy.spec.strategy.rollingUpdate"""
_SCALARS = {
    FieldDescriptor.TYPE_BOOL: "boolean",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "string (base64)",
    FieldDescriptor.TYPE_DOUBLE: "number",
    FieldDescriptor.TYPE_FLOAT: "number",
    FieldDescriptor.TYPE_ENUM: "string",
}
_WELL_KNOWN = {"google.protobuf.Timestamp": "string (RFC 3339 time)", "google.protobuf.Duration": "string (duration)"}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show the documentation of a kind or a field (KIND.FIELD.FIELD)",
        description="Show the fields of a kind, or of one field, with their types and documentation.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="KIND[.FIELD...]", help="e.g. pod, pod.spec, pod.spec.windows")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        text = explain(args.path)
    except (CliError, kinds.UnknownKindError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    sys.stdout.write(text)
    return 0


def explain(path: str) -> str:
    """The text ``atoll explain PATH`` prints; CliError naming the first unknown field."""
    kind_word, *fields = path.split(".")
    kind = kinds.lookup(kind_word)
    descriptor: Descriptor | None = kind.message.DESCRIPTOR
    field: FieldDescriptor | None = None
    walked = [kind.singular]
    for name in fields:
        if descriptor is None:
            raise CliError(f"{'.'.join(walked)} is a {_type_name(field)}: it has no field {bounded(name, 100)!r}")
        field = _field(descriptor, name, ".".join(walked))
        walked.append(field.json_name)
        descriptor = field.message_type
        if descriptor is not None and (descriptor.full_name in _WELL_KNOWN or descriptor.GetOptions().map_entry):
            descriptor = None  # a map or a timestamp has no fields to list
    notes = docs()
    lines = [f"KIND:       {kind.name}", f"VERSION:    {kinds.API_VERSION}", ""]
    description = []
    if field is not None:
        lines += [f"FIELD: {field.json_name} <{_type_name(field)}>", ""]
        description.append(notes.get(field.full_name, ""))
    if descriptor is not None:
        description.append(notes.get(descriptor.full_name, ""))
    text = "\n".join(part for part in description if part) or "<no description>"
    lines += ["DESCRIPTION:", textwrap.indent(text, INDENT), ""]
    if descriptor is not None:
        lines.append("FIELDS:")
        for child in descriptor.fields:
            lines.append(f"  {child.json_name}\t<{_type_name(child)}>")
            if child.full_name in notes:
                lines.append(textwrap.indent(notes[child.full_name], INDENT))
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _field(descriptor: Descriptor, name: str, where: str) -> FieldDescriptor:
    for candidate in descriptor.fields:
        if name in (candidate.json_name, candidate.name):
            return candidate
    hint = did_you_mean(name, [candidate.json_name for candidate in descriptor.fields])
    raise CliError(f"field {bounded(name, 100)!r} does not exist in {where} ({descriptor.name}){hint}")


def _type_name(field: FieldDescriptor | None) -> str:
    if field is None:
        return "Object"
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        key, value = message.fields_by_name["key"], message.fields_by_name["value"]
        return f"map[{_base(key)}]{_base(value)}"
    base = _base(field)
    return f"[]{base}" if field.is_repeated else base


def _base(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return _WELL_KNOWN.get(field.message_type.full_name, field.message_type.name)
    return _SCALARS.get(field.type, "integer")
