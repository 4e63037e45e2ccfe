"""Running ``atoll image ...`` in-process: (exit code, stdout, stderr)."""

from __future__ import annotations

import io

from atoll.cli import image
from atoll.cli.common import OneLineErrorParser, Streams


def run_image_cli(argv: list[str]) -> tuple[int, str, str]:
    parser = OneLineErrorParser(prog="atoll")
    image.add_parser(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(argv)
    streams = Streams(out=io.StringIO(), err=io.StringIO())
    code = image.run(args, streams)
    return code, streams.out.getvalue(), streams.err.getvalue()  # type: ignore[attr-defined]
