"""Extended resources, as Kubernetes defines them: every resource name other than the standard
ones (cpu, memory, ephemeral-storage, pods) -- ``nvidia.com/gpu``, ``example.com/dongle`` -- is
counted in whole units.

- A quantity of an extended resource is a whole number (``"2"``, not ``"1.5"`` or ``"500m"``).
- It is never overcommitted: a node offers its allocatable count, each workload holds what it
  requests, and the sum never exceeds the count.
- A container giving both a request and a limit gives the same number (a limit alone is also the
  request, as for every resource).

One home for the rule: the API server's validation, the scheduler's fit, the agent's admission
and the agents reporting node capacity all read it here.
"""

from __future__ import annotations

from collections.abc import Mapping

from atoll.quantity import QuantityError, parse_quantity
from atoll.user_text import quoted

STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage", "pods"})


class ExtendedResourceError(ValueError):
    """A quantity that is not a whole number of units; the message quotes it (bounded)."""


def is_extended(name: str) -> bool:
    """Whether ``name`` is counted as an extended resource (any name but the standard ones)."""
    return name not in STANDARD_RESOURCES


def whole_units(text: str) -> int:
    """The count ``text`` states (``"2"`` -> 2, ``"1k"`` -> 1000); ExtendedResourceError for a
    fraction, a negative number or text that is no quantity."""
    shown = quoted(text)
    try:
        value = parse_quantity(text.strip())
    except QuantityError:
        raise ExtendedResourceError(f"invalid quantity {shown} (expected a whole number, e.g. 1)") from None
    if value < 0 or value.denominator != 1:
        raise ExtendedResourceError(f"must be a whole number >= 0 for an extended resource, got {shown}")
    return int(value)


def add_container_units(totals: dict[str, int], requests: Mapping[str, str], limits: Mapping[str, str]) -> None:
    """Add one container's extended resources to ``totals`` (its request, else its limit), as a
    pod needs the sum over its containers. ExtendedResourceError names the resource."""
    for name in (*requests, *(n for n in limits if n not in requests)):
        if is_extended(name):
            text = requests[name] if name in requests else limits[name]
            try:
                totals[name] = totals.get(name, 0) + whole_units(text)
            except ExtendedResourceError as err:
                raise ExtendedResourceError(f"{name}: {err}") from None
