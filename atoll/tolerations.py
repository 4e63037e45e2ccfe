"""Taints and tolerations, with Kubernetes' rules: the scheduler applies them to place workloads
(NoSchedule, PreferNoSchedule, NoExecute), the node lifecycle controller to evict them
(NoExecute).

A toleration matches a taint when its effect is empty or equal, its key is empty (with Exists:
every taint) or equal, and its operator is Exists or (Equal, the default when empty) its value
is equal.

How long a workload may stay on a node tainted NoExecute:
- no matching toleration: ``default_seconds`` (Kubernetes adds a 300 s toleration by admission;
  atoll applies the controller's configurable default instead);
- matching tolerations: the smallest ``toleration_seconds`` among them (negative counts as 0);
  if none of them sets seconds, forever (None).

Both functions take protobuf messages (``scheduling_pb2.Toleration``/``Taint``) or any object
with the same fields, such as the scheduler's decoded, frozen copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from atoll.v1 import scheduling_pb2


class TaintFields(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def effect(self) -> str: ...


class TolerationFields(TaintFields, Protocol):
    @property
    def operator(self) -> str:
        """Exists or Equal; empty means Equal."""


def tolerates(toleration: TolerationFields, taint: TaintFields) -> bool:
    """Whether ``toleration`` matches ``taint``."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    operator = toleration.operator or "Equal"
    if not toleration.key:
        return operator == "Exists"
    if toleration.key != taint.key:
        return False
    return operator == "Exists" or toleration.value == taint.value


def eviction_delay(
    tolerations: Iterable[scheduling_pb2.Toleration], taint: TaintFields, default_seconds: float
) -> float | None:
    """Seconds after the NoExecute ``taint`` appeared that the workload is evicted; None: never."""
    matching = [toleration for toleration in tolerations if tolerates(toleration, taint)]
    if not matching:
        return default_seconds
    seconds = [toleration.toleration_seconds for toleration in matching if toleration.HasField("toleration_seconds")]
    if not seconds:
        return None
    return float(max(0, min(seconds)))
