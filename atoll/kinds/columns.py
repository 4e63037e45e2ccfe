"""Printing columns: the ``Column`` a kind declares for ``atoll get`` and the cells kinds share.

Cells are pure functions of (object, now), computed as kubectl's printers compute them; ``now``
is epoch seconds, passed in so tests control time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from atoll.v1 import scheduling_pb2

NONE = "<none>"
UNKNOWN = "<unknown>"

Cell = Callable[[Any, float], str]


@dataclass(frozen=True)
class Column:
    """One table column; ``wide`` columns appear only with ``-o wide``."""

    header: str
    cell: Cell
    wide: bool = False


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration: 5s, 119s, 2m, 3m20s, 10m, 3h, 5h30m, 2d, 3d4h, 2y."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def is_set(timestamp: Timestamp) -> bool:
    return bool(timestamp.seconds or timestamp.nanos)


def since(timestamp: Timestamp, now: float) -> str:
    """Age of ``timestamp`` at ``now``; ``<unknown>`` when unset."""
    if not is_set(timestamp):
        return UNKNOWN
    return human_duration(now - (timestamp.seconds + timestamp.nanos / 1e9))


def age(message: Any, now: float) -> str:
    return since(message.metadata.creation_timestamp, now)


def name(message: Any, now: float) -> str:
    return str(message.metadata.name)


def namespace(message: Any, now: float) -> str:
    return str(message.metadata.namespace)


def or_none(text: str) -> str:
    return text or NONE


def format_label_selector(selector: scheduling_pb2.LabelSelector) -> str:
    """``app=web,tier in (a,b),!legacy`` from a structured selector; ``<none>`` when empty."""
    terms = [f"{key}={value}" for key, value in sorted(selector.match_labels.items())]
    for requirement in selector.match_expressions:
        values = ",".join(requirement.values)
        terms.append(
            {
                "In": f"{requirement.key} in ({values})",
                "NotIn": f"{requirement.key} notin ({values})",
                "Exists": requirement.key,
                "DoesNotExist": f"!{requirement.key}",
            }.get(requirement.operator, f"{requirement.key} {requirement.operator} ({values})")
        )
    return ",".join(terms) or NONE


NAME_COLUMN = Column("NAME", name)
AGE_COLUMN = Column("AGE", age)
NAMESPACE_COLUMN = Column("NAMESPACE", namespace)
