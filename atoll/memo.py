"""A memo for pure functions of one short string (label keys, names, quantities).

``functools.lru_cache`` keeps every argument it has seen alive until evicted: with 8,192 entries
and request strings of up to 4 MiB, refused requests alone could pin gigabytes. ``short_memo``
caches only arguments of at most ``max_chars`` characters (every valid value is shorter) and
computes longer ones each time, so the cache's memory is bounded whatever callers send.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")


def short_memo(maxsize: int, max_chars: int) -> Callable[[Callable[[str], R]], Callable[[str], R]]:
    """Decorator: ``lru_cache(maxsize)`` for arguments of at most ``max_chars`` characters."""

    def decorate(function: Callable[[str], R]) -> Callable[[str], R]:
        cached = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def call(text: str) -> R:
            return cached(text) if len(text) <= max_chars else function(text)

        return call

    return decorate
