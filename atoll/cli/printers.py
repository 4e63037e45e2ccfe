"""Tables for ``atoll get``: each kind's columns (its strategy, atoll/kinds/), laid out like kubectl.

``TableWriter`` aligns columns the way kubectl's tabwriter does (3 spaces of padding, at least 6
wide, last column unpadded) and keeps widths across writes so watch rows line up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from atoll import kinds
from atoll.cli import colour
from atoll.kinds.columns import NAMESPACE_COLUMN, Column
from atoll.v1 import object_pb2

PADDING = 3
MIN_WIDTH = 6


def columns_for(kind: kinds.Kind, *, wide: bool = False, all_namespaces: bool = False) -> list[Column]:
    """The columns shown for ``kind``: NAMESPACE first when listing every namespace of a
    namespaced kind; wide-only columns only when ``wide``."""
    chosen = [column for column in kind.columns if wide or not column.wide]
    if all_namespaces and kind.namespaced:
        chosen.insert(0, NAMESPACE_COLUMN)
    return chosen


def headers(columns: Sequence[Column]) -> list[str]:
    return [column.header for column in columns]


def rows(columns: Sequence[Column], objects: Sequence[object_pb2.Object], now: float) -> list[list[str]]:
    """One row of cells per object."""
    return [[column.cell(kinds.unwrap(obj), now) for column in columns] for obj in objects]


def sort_for_display(kind: kinds.Kind, objects: Sequence[object_pb2.Object]) -> list[object_pb2.Object]:
    """``objects`` in ``kind``'s display order (Events oldest first, as kubectl prints them);
    kinds without one keep the server's (key) order."""
    order = kind.display_order
    if order is None:
        return list(objects)
    return sorted(objects, key=lambda obj: order(kinds.unwrap(obj)))


def resource_name(obj: object_pb2.Object) -> str:
    """``pod/web``, ``namespace/prod``: lowercase singular kind and name, as kubectl prints them."""
    return f"{kinds.of_object(obj).singular}/{kinds.unwrap(obj).metadata.name}"


def align(
    table: Sequence[Sequence[str]], widths: list[int] | None = None, *, coloured: bool = False
) -> list[str]:
    """Lines of ``table`` with columns aligned like kubectl's tabwriter. ``widths`` (updated in
    place) carries column widths from earlier calls, so that they only grow. ``coloured`` paints
    status cells (colour.py) after padding, so escapes never count towards a width."""
    widths = [] if widths is None else widths
    for row in table:
        for index, cell in enumerate(row):
            width = max(len(cell) + PADDING, MIN_WIDTH)
            if index >= len(widths):
                widths.append(width)
            else:
                widths[index] = max(widths[index], width)
    lines = []
    for row in table:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + list(row[-1:])
        if coloured:
            cells = [_painted(padded, original) for padded, original in zip(cells, row, strict=True)]
        lines.append("".join(cells))
    return lines


def _painted(padded: str, cell: str) -> str:
    return colour.paint(cell, colour.status_colour(cell)) + padded[len(cell) :]


class TableWriter:
    """Writes aligned table lines; widths only grow, so later rows (watch) stay aligned."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._widths: list[int] = []
        self._coloured = colour.enabled(out)

    def write(self, table: Sequence[Sequence[str]], *, header: bool = False) -> None:
        """Write rows; with ``header`` the first row is a header and is never coloured."""
        if header and table:
            for line in align(table, self._widths)[:1]:
                self._out.write(line + "\n")
            table = table[1:]
        for line in align(table, self._widths, coloured=self._coloured):
            self._out.write(line + "\n")
        self._out.flush()
