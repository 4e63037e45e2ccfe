"""What ``KIND NAME...`` arguments name, as kubectl reads them, for every verb that takes them.

Accepted forms (kinds by any alias: ``pod``, ``pods``, ``po``, ``Pod``):
- ``KIND``: every object of the kind (narrowed by ``-l`` where the verb has it);
- ``KIND NAME...``: those objects; ``KIND1,KIND2 [NAME...]``: each kind in turn;
- ``KIND/NAME...``: each argument names its own kind, mixed kinds allowed (``pod/a vm/b``).
A name in ``KIND/NAME`` form after a separate KIND is refused with kubectl's explanation.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from atoll import kinds
from atoll.cli.common import CliError
from atoll.user_text import bounded


@dataclass(frozen=True)
class KindRequest:
    """One kind and the names asked for in it, in the order given (empty: every object)."""

    kind: kinds.Kind
    names: tuple[str, ...]


def add_kind_and_names(parser: argparse.ArgumentParser, what: str) -> None:
    """The ``KIND[/NAME] [NAME...]`` positionals (dests ``kind`` and ``names``)."""
    parser.add_argument(
        "kind", metavar="KIND[/NAME]", nargs="?", help="pod/po, vm, deploy, node, ... (or KIND/NAME, repeatable)"
    )
    parser.add_argument("names", metavar="NAME", nargs="*", help=f"names of the objects to {what}")


def kind_requests(kind_arg: str | None, names: Sequence[str], verb: str) -> list[KindRequest]:
    """The kinds and names the arguments ask for, grouped by kind in order of first appearance.

    Raises CliError (or kinds.UnknownKindError) with one line when the arguments name no kind,
    an unknown kind, an empty name, or mix the two forms.
    """
    if not kind_arg:
        known = ", ".join(kind.plural for kind in kinds.KINDS)
        raise CliError(f"give the kind of objects to {verb}: one of {known} (or KIND/NAME)")
    if "/" in kind_arg:
        return _slash_form([kind_arg, *names], verb)
    slashed = next((name for name in names if "/" in name), None)
    if slashed is not None:
        raise CliError(
            "there is no need to specify a resource type as a separate argument when passing arguments "
            f"in resource/name form (e.g. 'atoll {verb} {bounded(slashed, 100)}' instead of "
            f"'atoll {verb} {bounded(kind_arg, 100)} {bounded(slashed, 100)}')"
        )
    for name in names:
        _check_name(name, verb)
    kinds_asked = _unique(kinds.lookup(word) for word in kind_arg.split(",") if word)
    if not kinds_asked:
        raise CliError(f"give the kind of objects to {verb}")
    return [KindRequest(kind, tuple(names)) for kind in kinds_asked]


def _slash_form(arguments: Sequence[str], verb: str) -> list[KindRequest]:
    grouped: dict[str, tuple[kinds.Kind, list[str]]] = {}
    for argument in arguments:
        word, slash, name = argument.partition("/")
        if not slash:
            raise CliError(
                f"arguments in resource/name form must have a single resource and name: {bounded(argument, 100)!r} "
                f"(write every object as KIND/NAME, e.g. pod/{bounded(argument, 100)})"
            )
        kind = kinds.lookup(word)
        _check_name(name, verb, argument)
        grouped.setdefault(kind.name, (kind, []))[1].append(name)
    return [KindRequest(kind, tuple(names)) for kind, names in grouped.values()]


def _check_name(name: str, verb: str, argument: str | None = None) -> None:
    if not name or "/" in name:
        shown = bounded(argument if argument is not None else name, 100)
        raise CliError(f"{shown!r} is not a KIND/NAME or NAME to {verb}")


def _unique(found: Iterable[kinds.Kind]) -> list[kinds.Kind]:
    chosen: list[kinds.Kind] = []
    for kind in found:
        if kind not in chosen:
            chosen.append(kind)
    return chosen


def name_of(argument: str, kind: kinds.Kind) -> str:
    """The name in ``NAME`` or ``KIND/NAME`` for a verb that takes objects of one ``kind`` only
    (``atoll vm start vm/db``, ``atoll node cordon node/n1``); CliError for another kind."""
    word, slash, name = argument.partition("/")
    if not slash:
        return argument
    if kinds.lookup(word) is not kind:
        raise CliError(f"{bounded(argument, 100)!r}: only {kind.plural} can be used here")
    _check_name(name, kind.plural)
    return name
