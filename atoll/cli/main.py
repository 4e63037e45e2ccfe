"""The ``atoll`` command: parse ``atoll [--server ADDR] VERB ...`` and hand off to the verb's module.

Each verb module offers ``add_parser(subparsers)`` (which sets ``run`` as a default) and
``run(args) -> int``. A package above ``atoll`` may add verbs of its own through ``lazy_verbs``:
the ``atoll`` console script (allinone.main) adds ``up``, the composition root that imports every
component. A lazy verb's module is imported only when it is the verb being run, so other verbs
never load what it needs; the foundation never imports the package that offers it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any, Protocol

from atoll.cli import apply, certs, delete, describe, get, image, logs, node, rollout, scale, vm
from atoll.cli import token as token_verb
from atoll.cli.common import OneLineErrorParser, add_server_flag

VERB_MODULES: tuple[ModuleType, ...] = (
    apply, get, describe, delete, logs, node, image, scale, rollout, vm, certs, token_verb
)
VALUE_FLAGS = frozenset({"--server", "--ca", "--cert", "--key", "--token"})


class Verb(Protocol):
    """What a lazily loaded verb module offers."""

    # Any: the verb's own annotation may name ArgumentParser; atoll's subparsers are OneLineErrorParser.
    def add_parser(self, subparsers: argparse._SubParsersAction[Any]) -> None:
        """Add the verb's subparser with its flags."""

    def run(self, args: argparse.Namespace) -> int:
        """Run the verb; returns the exit code."""


@dataclass(frozen=True)
class LazyVerb:
    """A verb listed in the help by ``help`` and loaded by ``load()`` only when it is run."""

    help: str
    load: Callable[[], Verb]


NO_LAZY_VERBS: Mapping[str, LazyVerb] = MappingProxyType({})


def build_parser(
    lazy_verbs: Mapping[str, LazyVerb] = NO_LAZY_VERBS, loaded: Mapping[str, Verb] = MappingProxyType({})
) -> argparse.ArgumentParser:
    """The full parser. A lazy verb present in ``loaded`` gets its own flags; the others appear in
    the help only, without their flags."""
    parser = OneLineErrorParser(
        prog="atoll",
        description="Declarative virtual machines and containers: apply manifests, inspect, delete.",
    )
    add_server_flag(parser, top_level=True)
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in VERB_MODULES:
        module.add_parser(subparsers)
    for name, lazy in lazy_verbs.items():
        if name in loaded:
            loaded[name].add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=lazy.help, add_help=False)
    return parser


def verb_of(argv: Sequence[str]) -> str | None:
    """The first positional argument (the verb), skipping ``--server VALUE`` (and the other
    top-level flags that take a value) and other flags."""
    skip_value = False
    for token in argv:
        if skip_value:
            skip_value = False
        elif token in VALUE_FLAGS:
            skip_value = True
        elif not token.startswith("-"):
            return token
    return None


def main(argv: Sequence[str] | None = None, *, lazy_verbs: Mapping[str, LazyVerb] = NO_LAZY_VERBS) -> int:
    """Runs one ``atoll`` command line (``sys.argv`` when ``argv`` is None); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = verb_of(argv)
    loaded = {verb: lazy_verbs[verb].load()} if verb is not None and verb in lazy_verbs else {}
    parser = build_parser(lazy_verbs, loaded)
    args = parser.parse_args(argv)
    if args.verb in loaded:
        return int(loaded[args.verb].run(args) or 0)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
