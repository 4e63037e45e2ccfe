"""Arguments of the verbs that set and remove keyed entries (``label``, ``annotate``, ``set env``):
object names first, then ``KEY=VALUE`` to set and ``KEY-`` to remove, as kubectl reads them."""

from __future__ import annotations

from collections.abc import Callable

from atoll.cli.common import CliError
from atoll.user_text import bounded

# Why KEY=VALUE is not a valid entry (key and value given), or None.
Problem = Callable[[str, str], str | None]


def split_key_changes(words: list[str], what: str, problem: Problem) -> tuple[list[str], dict[str, str], list[str]]:
    """Names, then entries to set and keys to remove; CliError (naming ``what``: "label") for an
    entry ``problem`` refuses, a name after the changes, or no change at all."""
    names: list[str] = []
    setting: dict[str, str] = {}
    removing: list[str] = []
    for word in words:
        key, equals, value = word.partition("=")
        if equals:
            found = problem(key, value)
            if found:
                raise CliError(f"invalid {what} {bounded(word, 200)!r}: {found}")
            setting[key] = value
        elif word.endswith("-") and len(word) > 1:
            removing.append(word[:-1])
        elif setting or removing:
            raise CliError(f"{bounded(word, 200)!r} is neither KEY=VALUE nor KEY-: give the names before the changes")
        else:
            names.append(word)
    if not setting and not removing:
        raise CliError(f"give at least one {what} to set (KEY=VALUE) or remove (KEY-)")
    return names, setting, removing
