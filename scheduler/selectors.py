"""Node selectors and node selector terms, compiled once and matched against node labels.

Two ways to match: against one node's labels (``matches``), and against every node at once
(``requirement_mask``), used on the NodeTable's label columns. Operators: In, NotIn, Exists,
DoesNotExist and Gt, Lt (integer compare). NotIn and DoesNotExist match a node without the key,
as in Kubernetes. Workload label selectors (spread, anti-affinity) are atoll.labels' LabelSelector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from atoll.user_text import bounded_repr
from scheduler.arrays import BoolArray
from scheduler.label_columns import LabelColumns

OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})


class SelectorError(ValueError):
    """A requirement with an unknown operator or a non-integer Gt/Lt value."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key operator values`` test."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        value = labels.get(self.key)
        op = self.operator
        if op == "In":
            return value is not None and value in self.values
        if op == "NotIn":
            return value is None or value not in self.values
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        number = _as_int(value)
        if number is None:
            return False
        return number > int(self.values[0]) if op == "Gt" else number < int(self.values[0])


def requirement(key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
    """A validated Requirement; raises SelectorError naming the key on bad input."""
    vals = tuple(values)
    if operator not in OPERATORS:
        raise SelectorError(
            f"selector key {bounded_repr(key)}: unknown operator {bounded_repr(operator)} "
            f"(use one of {', '.join(sorted(OPERATORS))})"
        )
    if operator in ("Gt", "Lt") and (len(vals) != 1 or _as_int(vals[0]) is None):
        raise SelectorError(f"selector key {bounded_repr(key)}: {operator} needs exactly one integer value")
    if operator in ("In", "NotIn") and not vals:
        raise SelectorError(f"selector key {bounded_repr(key)}: {operator} needs at least one value")
    return Requirement(key, operator, vals)


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(req.matches(labels) for req in self.requirements)


def from_match_labels(match_labels: Mapping[str, str]) -> Selector:
    """A Selector from a ``nodeSelector`` map: each key must equal its value."""
    return Selector(tuple(Requirement(k, "In", (v,)) for k, v in sorted(match_labels.items())))


def requirement_mask(req: Requirement, columns: LabelColumns) -> BoolArray:
    """Per node slot: whether the node's labels satisfy ``req``."""
    codes = columns.codes(req.key)
    op = req.operator
    if codes is None:
        absent = op in ("NotIn", "DoesNotExist")
        return np.full(columns.capacity, absent, dtype=np.bool_)
    if op == "Exists":
        return codes >= 0
    if op == "DoesNotExist":
        return codes < 0
    if op in ("In", "NotIn"):
        wanted = [c for c in (columns.code_of(req.key, v) for v in req.values) if c is not None]
        if not wanted:
            hit = np.zeros(columns.capacity, dtype=np.bool_)
        elif len(wanted) == 1:
            hit = codes == wanted[0]
        else:
            hit = np.isin(codes, wanted)
        return hit if op == "In" else ~hit
    numbers = columns.numbers(req.key)
    with np.errstate(invalid="ignore"):
        return numbers > float(req.values[0]) if op == "Gt" else numbers < float(req.values[0])


def selector_mask(selector: Selector, columns: LabelColumns) -> BoolArray:
    """Per node slot: whether every requirement of ``selector`` holds."""
    mask = np.ones(columns.capacity, dtype=np.bool_)
    for req in selector.requirements:
        mask &= requirement_mask(req, columns)
    return mask


def _as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
