"""Node labels stored column-wise: one int32 code array per label key, -1 where a node lacks it.

Values are interned per key, so ``zone == "a"`` over 5,000 nodes is one NumPy comparison.
Integer views for Gt/Lt are built lazily per key and dropped when the key changes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scheduler.arrays import FloatArray, I32Array


class LabelColumns:
    """Label code columns for ``capacity`` node slots. Not thread-safe; one writer."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._columns: dict[str, I32Array] = {}
        self._codes: dict[str, dict[str, int]] = {}
        self._values: dict[str, list[str]] = {}
        self._numbers: dict[str, FloatArray] = {}

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` slots; new slots have no labels."""
        for key, column in self._columns.items():
            grown = np.full(capacity, -1, dtype=np.int32)
            grown[: self.capacity] = column
            self._columns[key] = grown
        self._numbers.clear()
        self.capacity = capacity

    def set(self, slot: int, labels: Mapping[str, str]) -> None:
        """Replace the labels of ``slot`` with ``labels``."""
        for key, column in self._columns.items():
            if column[slot] >= 0 and key not in labels:
                column[slot] = -1
                self._numbers.pop(key, None)
        for key, value in labels.items():
            if key not in self._columns:
                self._columns[key] = np.full(self.capacity, -1, dtype=np.int32)
                self._codes[key] = {}
                self._values[key] = []
            target = self._columns[key]
            code = self._intern(key, value)
            if target[slot] != code:
                target[slot] = code
                self._numbers.pop(key, None)

    def clear(self, slot: int) -> None:
        """Remove every label of ``slot``."""
        self.set(slot, {})

    def codes(self, key: str) -> I32Array | None:
        """The code column of ``key``; None when no node ever had that key."""
        return self._columns.get(key)

    def code_of(self, key: str, value: str) -> int | None:
        """The code of ``value`` under ``key``; None when no node ever had it."""
        table = self._codes.get(key)
        return None if table is None else table.get(value)

    def value_of(self, key: str, code: int) -> str:
        return self._values[key][code]

    def numbers(self, key: str) -> FloatArray:
        """Per slot, the label value as a number; NaN where absent or not an integer."""
        cached = self._numbers.get(key)
        if cached is not None:
            return cached
        column = self._columns.get(key)
        if column is None:
            return np.full(self.capacity, np.nan)
        lookup = np.array([_number(v) for v in self._values[key]] + [np.nan], dtype=np.float64)
        result = lookup[np.where(column >= 0, column, len(lookup) - 1)]
        self._numbers[key] = result
        return result

    def _intern(self, key: str, value: str) -> int:
        table = self._codes[key]
        code = table.get(value)
        if code is None:
            code = len(table)
            table[value] = code
            self._values[key].append(value)
        return code


def _number(value: str) -> float:
    try:
        return float(int(value))
    except ValueError:
        return float("nan")
