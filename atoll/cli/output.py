"""``-o``/``--output`` and the flags that shape a listing, as kubectl has them: ``-o
table|wide|yaml|json|name|jsonpath=T|jsonpath-file=F|custom-columns=SPEC|custom-columns-file=F``,
``--show-labels``, ``-L KEY``, ``--sort-by EXPR``, ``--no-headers``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from atoll.cli.common import CliError
from atoll.cli.jsonpath import Finder, Template, compile_expression, format_value
from atoll.kinds.columns import NONE, Column
from atoll.suggest import did_you_mean
from atoll.user_text import bounded

PLAIN_FORMATS = ("table", "wide", "yaml", "json", "name")
TEMPLATE_FORMATS = ("jsonpath", "jsonpath-file", "custom-columns", "custom-columns-file")
TABLE_FORMATS = ("table", "wide", "custom-columns")
MAX_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class CustomColumn:
    header: str
    find: Finder

    def cell(self, document: Any) -> str:
        values = self.find(document)
        return ",".join(format_value(value) for value in values) if values else NONE


@dataclass(frozen=True)
class OutputFormat:
    """One ``-o`` value, parsed: ``name`` is a plain format or jsonpath / custom-columns."""

    name: str
    template: Template | None = None
    columns: tuple[CustomColumn, ...] = ()

    @property
    def is_table(self) -> bool:
        return self.name in TABLE_FORMATS


def parse_output(value: str) -> OutputFormat:
    """The format ``-o VALUE`` names (an argparse ``type``): ArgumentTypeError, one line, when it
    names none or its template does not parse."""
    if value in PLAIN_FORMATS:
        return OutputFormat(value)
    name, equals, spec = value.partition("=")
    if name not in TEMPLATE_FORMATS or not equals:
        known = [*PLAIN_FORMATS, *(f"{fmt}=" for fmt in TEMPLATE_FORMATS)]
        hint = did_you_mean(name, known) or f" (one of {', '.join(known)})"
        raise argparse.ArgumentTypeError(f"unknown output format {bounded(value, 100)!r}{hint}")
    try:
        if name.endswith("-file"):
            spec = _read_spec(spec)
        if name.startswith("jsonpath"):
            return OutputFormat("jsonpath", template=Template(spec))
        return OutputFormat("custom-columns", columns=parse_custom_columns(spec))
    except CliError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parse_custom_columns(spec: str) -> tuple[CustomColumn, ...]:
    """``NAME:.metadata.name,NODE:.spec.nodeName`` (a file holds a header line of names and a line
    of expressions below it, as kubectl's custom-columns-file)."""
    lines = [line for line in spec.splitlines() if line.strip()]
    if len(lines) == 2:
        pairs = list(zip(lines[0].split(), lines[1].split(), strict=False))
    else:
        pairs = []
        for part in spec.split(","):
            header, colon, expression = part.partition(":")
            if not colon or not header or not expression:
                raise CliError(f"custom-columns: expected HEADER:EXPRESSION, got {bounded(part, 100)!r}")
            pairs.append((header, expression))
    if not pairs:
        raise CliError("custom-columns: give at least one HEADER:EXPRESSION")
    return tuple(CustomColumn(header, compile_expression(expression)) for header, expression in pairs)


def _read_spec(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(MAX_FILE_BYTES)
    except OSError as err:
        raise CliError(f"cannot read {bounded(path, 200)}: {err.strerror}") from None


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """``-o`` and the listing flags (dests ``output``, ``show_labels``, ``label_columns``,
    ``sort_by``, ``no_headers``)."""
    parser.add_argument(
        "-o",
        "--output",
        type=parse_output,
        default=OutputFormat("table"),
        metavar="FORMAT",
        help="table (default), wide, yaml, json, name, jsonpath=TEMPLATE, jsonpath-file=FILE, "
        "custom-columns=HEADER:EXPR,..., custom-columns-file=FILE",
    )
    parser.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    parser.add_argument(
        "-L",
        "--label-columns",
        action="append",
        default=[],
        metavar="KEY",
        help="add a column with the value of label KEY (repeatable or comma-separated)",
    )
    parser.add_argument("--sort-by", default="", metavar="EXPR", help="sort by a JSONPath, e.g. .metadata.name")
    parser.add_argument("--no-headers", action="store_true", help="tables without their header line")


def label_columns(args: argparse.Namespace) -> list[Column]:
    """The ``-L`` columns (header: the key's last part in capitals) and ``--show-labels``' LABELS."""
    keys = [key for value in args.label_columns for key in value.split(",") if key]
    chosen = [Column(key.rsplit("/", 1)[-1].upper(), _label_cell(key)) for key in keys]
    if args.show_labels:
        chosen.append(Column("LABELS", _all_labels))
    return chosen


def _label_cell(key: str) -> Callable[[Any, float], str]:
    return lambda message, now: str(message.metadata.labels.get(key, ""))


def _all_labels(message: Any, now: float) -> str:
    labels = message.metadata.labels
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels)) or NONE


def sort_key(expression: str) -> Callable[[Any], tuple[int, Any]]:
    """A key for ``--sort-by``: by the first value the expression finds in an object's manifest;
    numbers before strings, objects without the field first (as kubectl sorts them)."""
    find = compile_expression(expression)

    def key(document: Any) -> tuple[int, Any]:
        values = find(document)
        if not values or values[0] is None:
            return (0, "")
        first = values[0]
        if isinstance(first, int | float) and not isinstance(first, bool):
            return (1, first)
        return (2, format_value(first))

    return key


def sorted_documents(documents: Sequence[Any], expression: str) -> list[Any]:
    return sorted(documents, key=sort_key(expression)) if expression else list(documents)
