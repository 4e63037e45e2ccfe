"""Kubernetes quantities ("250m", "1.5", "64Mi", "2G", "1e3") as integers the scheduler can add.

CPU becomes millicores, everything else becomes base units (bytes, pods). Parsing is exact
(``Decimal``) and rounds up, as Kubernetes does, so a request is never under-counted.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity; the message names the offending text."""


def parse_quantity(text: str) -> Decimal:
    """The exact value of ``text``; raises QuantityError for malformed or negative input."""
    raw = text.strip()
    if not raw:
        raise QuantityError("empty quantity")
    number, factor = raw, Decimal(1)
    for suffix, multiplier in _BINARY.items():
        if raw.endswith(suffix):
            number, factor = raw[: -len(suffix)], Decimal(multiplier)
            break
    else:
        last = raw[-1]
        if last in _DECIMAL:
            number, factor = raw[:-1], _DECIMAL[last]
    try:
        value = Decimal(number) * factor
    except InvalidOperation:
        raise QuantityError(f"invalid quantity {text!r} (expected e.g. 250m, 2, 64Mi, 1G)") from None
    if not value.is_finite() or value < 0:
        raise QuantityError(f"invalid quantity {text!r} (must be a finite, non-negative number)")
    return value


def cpu_millis(text: str) -> int:
    """CPU quantity in millicores, rounded up ("250m" -> 250, "1.5" -> 1500, "" -> 0)."""
    return 0 if not text else math.ceil(parse_quantity(text) * 1000)


def amount(text: str) -> int:
    """Byte or count quantity, rounded up ("64Mi" -> 67108864, "" -> 0)."""
    return 0 if not text else math.ceil(parse_quantity(text))
