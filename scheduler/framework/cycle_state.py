"""CycleState: scratch data plugins share during one scheduling cycle of one workload."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class CycleState:
    """A typed bag keyed by plugin-chosen strings; created fresh for each cycle, then dropped."""

    __slots__ = ("_data", "record_plugin_metrics", "skipped")

    def __init__(self) -> None:
        self._data: dict[str, object] = {}
        self.skipped: set[str] = set()
        self.record_plugin_metrics = False  # set by the framework for sampled cycles (scheduler.metrics)

    def write(self, key: str, value: object) -> None:
        self._data[key] = value

    def read(self, key: str, kind: type[T]) -> T | None:
        """The value under ``key`` if it is a ``kind``, else None."""
        value = self._data.get(key)
        return value if isinstance(value, kind) else None
