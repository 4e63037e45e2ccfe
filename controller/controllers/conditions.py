"""Reading status conditions (Ready, Progressing, Available, ...) by type."""

from __future__ import annotations

from collections.abc import Iterable

from atoll.v1 import meta_pb2


def find_condition(conditions: Iterable[meta_pb2.Condition], kind: str) -> meta_pb2.Condition | None:
    """The condition of type ``kind``, or None."""
    for condition in conditions:
        if condition.type == kind:
            return condition
    return None
