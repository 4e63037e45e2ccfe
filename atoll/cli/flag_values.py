"""Values of the imperative verbs' flags, checked before anything is sent, each mistake one line
naming the flag and the (bounded) value: ``--image``, ``--labels k=v,...``, ``--env K=V``, port numbers."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from atoll.cli.common import CliError
from atoll.labels import label_key_problem, label_value_problem
from atoll.user_text import bounded_repr

MAX_PORT = 65535


def port(text: str) -> int:
    """An argparse ``type``: a port number 1-65535."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"must be a port number between 1 and {MAX_PORT}, got {bounded_repr(text)}")
    return int(text)


def image(text: str) -> str:
    """An argparse ``type``: an image reference, not empty (the node resolves the rest)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give an image, e.g. nginx or registry.example/team/app:1.2")
    return text


def labels(text: str, flag: str) -> dict[str, str]:
    """``k=v,k2=v2`` as labels; CliError for a pair without ``=`` or an invalid key or value."""
    parsed: dict[str, str] = {}
    for pair in text.split(","):
        key, equals, value = pair.partition("=")
        problem = "expected KEY=VALUE" if not equals else label_key_problem(key) or label_value_problem(value)
        if problem:
            raise CliError(f"{flag} {bounded_repr(pair)}: {problem}")
        parsed[key] = value
    return parsed


def env(words: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``--env K=V`` words as (name, value) pairs in order; CliError for one without a name."""
    pairs = []
    for word in words:
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise CliError(f"--env {bounded_repr(word)}: expected NAME=VALUE")
        pairs.append((name, value))
    return tuple(pairs)
