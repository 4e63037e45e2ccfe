"""Query parameters of object requests, checked: a bad value is one 400 line naming the parameter."""

from __future__ import annotations

from collections.abc import Mapping

from atoll.user_text import bounded_repr
from controller.apiserver.http.status import BAD_REQUEST, fail

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


def text(query: Mapping[str, str], name: str) -> str:
    return query.get(name, "")


def integer(query: Mapping[str, str], name: str, *, minimum: int = 0) -> int:
    raw = query.get(name, "")
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise fail(BAD_REQUEST, f"query parameter {name}: expected an integer, got {bounded_repr(raw)}") from None
    if value < minimum:
        raise fail(BAD_REQUEST, f"query parameter {name}: must be >= {minimum}, got {value}")
    return value


def flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "").lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise fail(BAD_REQUEST, f"query parameter {name}: expected true or false, got {bounded_repr(raw)}")
