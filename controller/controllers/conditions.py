"""Reading and setting status conditions (Ready, Progressing, Available, ...) by type."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from atoll.clock import to_timestamp
from atoll.v1 import meta_pb2


def find_condition(conditions: Iterable[meta_pb2.Condition], kind: str) -> meta_pb2.Condition | None:
    """The condition of type ``kind``, or None."""
    for condition in conditions:
        if condition.type == kind:
            return condition
    return None


def set_condition(conditions: Any, kind: str, status: str, reason: str, message: str, now: float) -> None:
    """Set the condition of type ``kind`` in the repeated field ``conditions`` (added when missing);
    its transition time becomes ``now``."""
    condition = find_condition(conditions, kind)
    if condition is None:
        condition = conditions.add(type=kind)
    condition.status, condition.reason, condition.message = status, reason, message
    condition.last_transition_time.CopyFrom(to_timestamp(now))
