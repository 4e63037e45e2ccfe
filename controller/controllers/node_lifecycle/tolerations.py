"""Taint and toleration matching for NoExecute eviction, with Kubernetes' rules.

A toleration matches a taint when its effect is empty or equal, its key is empty (with Exists:
every taint) or equal, and its operator is Exists or (Equal, the default) its value is equal.
How long a workload may stay on a node tainted NoExecute:
- no matching toleration: ``default_seconds`` (Kubernetes adds a 300 s toleration by admission;
  atoll applies the controller's configurable default instead);
- matching tolerations: the smallest ``toleration_seconds`` among them (negative counts as 0);
  if none of them sets seconds, forever (None).
"""

from __future__ import annotations

from collections.abc import Iterable

from atoll.v1 import scheduling_pb2


def tolerates(toleration: scheduling_pb2.Toleration, taint: scheduling_pb2.Taint) -> bool:
    if toleration.effect and toleration.effect != taint.effect:
        return False
    operator = toleration.operator or "Equal"
    if not toleration.key:
        return operator == "Exists"
    if toleration.key != taint.key:
        return False
    return operator == "Exists" or toleration.value == taint.value


def eviction_delay(
    tolerations: Iterable[scheduling_pb2.Toleration], taint: scheduling_pb2.Taint, default_seconds: float
) -> float | None:
    """Seconds after the taint appeared that the workload is evicted; None: never."""
    matching = [toleration for toleration in tolerations if tolerates(toleration, taint)]
    if not matching:
        return default_seconds
    seconds = [toleration.toleration_seconds for toleration in matching if toleration.HasField("toleration_seconds")]
    if not seconds:
        return None
    return float(max(0, min(seconds)))
