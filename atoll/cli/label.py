"""``atoll label KIND NAME... KEY=VALUE... KEY-...``: set or remove labels (metadata_map.py)."""

from __future__ import annotations

import argparse
from typing import Any

from atoll.cli import metadata_map
from atoll.cli.metadata_map import LABEL, add_map_parser

EXAMPLES = """examples:
  atoll label pod web tier=front            # add a label
  atoll label pod/web pod/api tier=back --overwrite
  atoll label pods -l app=web canary-       # remove the label canary from every match
  atoll label node n1 -n ignored zone=a"""


def add_parser(subparsers: Any) -> None:
    add_map_parser(subparsers, LABEL, "set or remove labels of objects", EXAMPLES)


def run(args: argparse.Namespace) -> int:
    return metadata_map.run(args, LABEL)
