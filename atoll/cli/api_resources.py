"""``atoll api-resources``: every kind the API serves, with its short names, as kubectl lists them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from atoll import kinds
from atoll.cli.printers import TableWriter

OUTPUTS = ("table", "wide", "name")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "api-resources",
        help="list the kinds of objects the API serves",
        description="List the kinds of objects the API serves, with their short names and scope.",
        epilog="examples:\n  atoll api-resources\n  atoll api-resources --namespaced=false\n"
        "  atoll api-resources -o name",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--namespaced", choices=("true", "false"), help="only namespaced (true) or cluster-wide (false) kinds"
    )
    parser.add_argument("-o", "--output", choices=OUTPUTS, default="table", help="table (default), wide or name")
    parser.add_argument("--no-headers", action="store_true", help="no header line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    chosen = [k for k in kinds.KINDS if args.namespaced is None or k.namespaced == (args.namespaced == "true")]
    if args.output == "name":
        sys.stdout.write("".join(f"{kind.plural}\n" for kind in chosen))
        return 0
    header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = [[k.plural, ",".join(k.short), kinds.API_VERSION, str(k.namespaced).lower(), k.name] for k in chosen]
    if args.output == "wide":
        header.append("SINGULAR")
        for row, kind in zip(rows, chosen, strict=True):
            row.append(kind.singular)
    TableWriter(sys.stdout).write([header, *rows] if not args.no_headers else rows, header=not args.no_headers)
    return 0


