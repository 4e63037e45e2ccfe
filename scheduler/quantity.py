"""Kubernetes quantities ("250m", "1.5", "64Mi", "2G", "1e3") as integers the scheduler can add.

CPU becomes millicores, everything else becomes base units (bytes, pods). Parsing is atoll.quantity's
(exact, memoized, rounding up as Kubernetes does, so a request is never under-counted); this module
adds what the scheduler reads differently: an empty field is zero, and a negative one is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from atoll import quantity
from atoll.user_text import bounded_repr


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity; the message names the offending text."""


def cpu_millis(text: str) -> int:
    """CPU quantity in millicores, rounded up ("250m" -> 250, "1.5" -> 1500, "" -> 0)."""
    return _convert(quantity.cpu_millis, text)


def amount(text: str) -> int:
    """Byte or count quantity, rounded up ("64Mi" -> 67108864, "" -> 0)."""
    return _convert(quantity.to_bytes, text)


def _convert(convert: Callable[[str], int], text: str) -> int:
    if not text:
        return 0
    raw = text.strip()
    if not raw:
        raise QuantityError("empty quantity")
    try:
        negative = quantity.parse_quantity(raw) < 0
    except quantity.QuantityError:
        raise QuantityError(f"invalid quantity {bounded_repr(text)} (expected e.g. 250m, 2, 64Mi, 1G)") from None
    if negative:
        raise QuantityError(f"invalid quantity {bounded_repr(text)} (must be a finite, non-negative number)")
    return convert(raw)
