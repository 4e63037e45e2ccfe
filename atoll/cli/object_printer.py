"""Printing objects in one ``-o`` format (output.py): tables (kind columns, ``-L``/``--show-labels``,
custom columns), names, YAML, JSON and JSONPath templates, sorted by ``--sort-by`` when given.

``print_stream`` keeps table columns aligned across calls and prints the header once (watches).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from atoll import kinds
from atoll.cli import printers
from atoll.cli.common import Streams
from atoll.cli.output import OutputFormat, sort_key
from atoll.kinds.columns import Column
from atoll.v1 import object_pb2

DOCUMENT_FORMATS = ("yaml", "json", "jsonpath")


@dataclass(frozen=True)
class Shape:
    """How a listing looks beyond its format: extra columns, headers, order."""

    extra_columns: tuple[Column, ...] = ()
    no_headers: bool = False
    sort_by: str = ""


class ObjectPrinter:
    """Prints objects of one kind in one output format."""

    def __init__(
        self,
        kind: kinds.Kind,
        output: OutputFormat | str,
        streams: Streams,
        *,
        all_namespaces: bool,
        shape: Shape = Shape(),
    ) -> None:
        self._kind = kind
        self._output = output if isinstance(output, OutputFormat) else OutputFormat(output)
        self._streams = streams
        self._shape = shape
        columns = printers.columns_for(kind, wide=self._output.name == "wide", all_namespaces=all_namespaces)
        self._columns = [*columns, *shape.extra_columns]
        self._table = printers.TableWriter(streams.out)
        self._header_printed = shape.no_headers

    def print_all(self, objects: Sequence[object_pb2.Object], *, single: bool) -> None:
        """Print a complete result; ``single`` (one name asked for) prints YAML/JSON/JSONPath over
        the object itself rather than a List."""
        if self._output.name in DOCUMENT_FORMATS:
            self._write_document(document(self._ordered(objects), single=single))
        else:
            self.print_stream(objects)

    def print_stream(self, objects: Sequence[object_pb2.Object]) -> None:
        out = self._streams.out
        shown = self._ordered(objects)
        name = self._output.name
        if name == "name":
            for obj in shown:
                out.write(printers.resource_name(obj) + "\n")
        elif name in DOCUMENT_FORMATS:
            for obj in shown:
                self._write_document(document([obj], single=True), separate=name == "yaml")
        elif shown:
            self._write_table(shown)
        out.flush()

    def _write_table(self, shown: Sequence[object_pb2.Object]) -> None:
        if self._output.name == "custom-columns":
            from atoll.manifest import to_manifest  # deferred: only these formats need the codec

            manifests = [to_manifest(obj) for obj in shown]
            headers = [column.header for column in self._output.columns]
            table = [[column.cell(manifest) for column in self._output.columns] for manifest in manifests]
        else:
            headers = printers.headers(self._columns)
            table = printers.rows(self._columns, shown, self._streams.now())
        with_header = not self._header_printed
        if with_header:
            table.insert(0, headers)
            self._header_printed = True
        self._table.write(table, header=with_header)

    def _ordered(self, objects: Sequence[object_pb2.Object]) -> list[object_pb2.Object]:
        if not self._shape.sort_by:
            return printers.sort_for_display(self._kind, objects)
        from atoll.manifest import to_manifest

        key = sort_key(self._shape.sort_by)
        return sorted(objects, key=lambda obj: key(to_manifest(obj)))

    def _write_document(self, data: dict[str, Any], *, separate: bool = False) -> None:
        out = self._streams.out
        if self._output.name == "json":
            out.write(json.dumps(data, indent=4) + "\n")
        elif self._output.name == "jsonpath":
            assert self._output.template is not None
            out.write(self._output.template.render(data))
        else:
            if separate:
                out.write("---\n")
            out.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def document(objects: Sequence[object_pb2.Object], *, single: bool) -> dict[str, Any]:
    """The manifest of one object, or a ``List`` of manifests."""
    from atoll.manifest import to_manifest  # deferred: only document output needs the codec

    if single and len(objects) == 1:
        return to_manifest(objects[0])
    return {"apiVersion": kinds.API_VERSION, "kind": "List", "items": [to_manifest(obj) for obj in objects]}
