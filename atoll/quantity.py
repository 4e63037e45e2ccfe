"""Kubernetes resource quantities ("250m", "64Mi", "1.5", "2G", "1e3") as exact fractions.

Grammar (as Kubernetes' resource.Quantity): an optionally signed decimal number, then at most one
suffix: a binary SI suffix (Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m k M G T P E) or a
decimal exponent (e3, E-2). No whitespace. Arithmetic is exact: values are ``Fraction``s.
A quantity is at most ``MAX_CHARS`` characters and its exponent at most ``MAX_EXPONENT`` either
way, so parsing costs microseconds whatever a request carries ("1e999999999" would not).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from atoll.memo import short_memo
from atoll.user_text import quoted

_NUMBER = re.compile(r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>.*)$")
_EXPONENT = re.compile(r"^[eE][+-]?\d+$")

MAX_CHARS = 64
MAX_EXPONENT = 64
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class QuantityError(ValueError):
    """Text that is not a quantity; ``str()`` is ``invalid quantity "TEXT"``."""


# Quantities repeat across a fleet ("100m", "64Mi"); the scheduler and the API server parse them on
# every object, and Fractions are immutable, so a bounded memo is safe and saves most of the cost.
@short_memo(maxsize=8192, max_chars=MAX_CHARS)
def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity; raises QuantityError('invalid quantity "12Gx"')."""
    if len(text) > MAX_CHARS:
        raise QuantityError(f"invalid quantity {quoted(text, 20)}: longer than {MAX_CHARS} characters")
    match = _NUMBER.match(text)
    if match is None:
        raise QuantityError(f"invalid quantity {quoted(text)}")
    number = Fraction(match["number"])
    suffix = match["suffix"]
    if suffix in _BINARY_SUFFIXES:
        return number * Fraction(1024) ** _BINARY_SUFFIXES[suffix]
    if suffix in _DECIMAL_SUFFIXES:
        return number * Fraction(10) ** _DECIMAL_SUFFIXES[suffix]
    # "1E" is one exa; "1E3" is a thousand: an exponent is e/E followed by a signed integer.
    if _EXPONENT.match(suffix):
        exponent = int(suffix[1:])
        if abs(exponent) > MAX_EXPONENT:
            raise QuantityError(f"invalid quantity {quoted(text)}: exponent beyond +-{MAX_EXPONENT}")
        return number * Fraction(10) ** exponent
    raise QuantityError(f"invalid quantity {quoted(text)}")


@short_memo(maxsize=8192, max_chars=MAX_CHARS)
def cpu_millis(text: str) -> int:
    """A CPU quantity in millicores, rounded up: "250m" -> 250, "2" -> 2000, "0.0001" -> 1."""
    return math.ceil(parse_quantity(text) * 1000)


@short_memo(maxsize=8192, max_chars=MAX_CHARS)
def to_bytes(text: str) -> int:
    """A memory or storage quantity in bytes, rounded up: "64Mi" -> 67108864, "1.5k" -> 1500."""
    return math.ceil(parse_quantity(text))

