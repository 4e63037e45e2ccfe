"""``atoll annotate KIND NAME... KEY=VALUE... KEY-...``: set or remove annotations (metadata_map.py)."""

from __future__ import annotations

import argparse
from typing import Any

from atoll.cli import metadata_map
from atoll.cli.metadata_map import ANNOTATE, add_map_parser

EXAMPLES = """examples:
  atoll annotate pod web owner='team a'
  atoll annotate deploy/web example.com/change-cause='new image' --overwrite
  atoll annotate pods --all owner-            # remove it from every pod in the namespace"""


def add_parser(subparsers: Any) -> None:
    add_map_parser(subparsers, ANNOTATE, "set or remove annotations of objects", EXAMPLES)


def run(args: argparse.Namespace) -> int:
    return metadata_map.run(args, ANNOTATE)
