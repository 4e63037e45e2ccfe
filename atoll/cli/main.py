"""The ``atoll`` command: parse ``atoll [--server ADDR] VERB ...`` and hand off to the verb's module.

Each verb module offers ``add_parser(subparsers)`` (which sets ``run`` as a default) and
``run(args) -> int``. ``up`` (atoll.cli.up) is the composition root that starts the control plane;
it is imported only when ``up`` is the verb, so other verbs never load the components.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from atoll.cli import apply, certs, delete, describe, get, image, logs, node, rollout, scale, vm
from atoll.cli import token as token_verb
from atoll.cli.common import EXIT_FAILED, OneLineErrorParser, add_server_flag

VERB_MODULES: tuple[ModuleType, ...] = (
    apply, get, describe, delete, logs, node, image, scale, rollout, vm, certs, token_verb
)
UP_MODULE = "atoll.cli.up"
UP_HELP = "start a local control plane (API server, controllers, scheduler, agents)"


def build_parser(up: ModuleType | None = None) -> argparse.ArgumentParser:
    """The full parser. ``up`` is the atoll.cli.up module when ``atoll up`` is being run; otherwise
    ``up`` appears in the help only, without its flags."""
    parser = OneLineErrorParser(
        prog="atoll",
        description="Declarative virtual machines and containers: apply manifests, inspect, delete.",
    )
    add_server_flag(parser, top_level=True)
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in VERB_MODULES:
        module.add_parser(subparsers)
    if up is not None:
        up.add_parser(subparsers)
    else:
        subparsers.add_parser("up", help=UP_HELP, add_help=False)
    return parser


def verb_of(argv: Sequence[str]) -> str | None:
    """The first positional argument (the verb), skipping ``--server VALUE`` and other flags."""
    skip_value = False
    for token in argv:
        if skip_value:
            skip_value = False
        elif token == "--server":
            skip_value = True
        elif not token.startswith("-"):
            return token
    return None


def _load_up() -> ModuleType | None:
    try:
        return importlib.import_module(UP_MODULE)
    except ModuleNotFoundError as err:
        if err.name != UP_MODULE:
            raise
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``atoll`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    up = None
    if verb_of(argv) == "up":
        up = _load_up()
        if up is None:
            sys.stderr.write("error: `atoll up` is not available in this installation (atoll.cli.up is missing)\n")
            return EXIT_FAILED
    parser = build_parser(up)
    args = parser.parse_args(argv)
    if up is not None and args.verb == "up":
        return int(up.run(args) or 0)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
