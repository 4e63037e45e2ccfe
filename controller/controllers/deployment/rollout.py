"""Pure rollout arithmetic: given the desired count, the strategy and the replicas that exist,
how many new-template replicas to create and which replicas to delete. No I/O, no clock.

Rolling update follows Kubernetes' deployment controller, per replica instead of per ReplicaSet:

1. Surplus new replicas beyond ``replicas`` are deleted (scale down).
2. New replicas are created up to ``replicas``, never letting the total exceed
   ``replicas + maxSurge``. If any are created, the step ends here (old ones go next time, once
   the new ones are counted).
3. Old replicas are deleted while at least ``replicas - maxUnavailable`` stay available
   (``Replica.available``: ready, by readiness probes, for minReadySeconds): unavailable old
   replicas first, then available ones. New replicas that never become available therefore
   stall the rollout; the old available ones keep serving.

``maxSurge`` rounds up and ``maxUnavailable`` down from percentages; if both come out 0,
``maxUnavailable`` is 1 (Kubernetes does the same). Recreate deletes every old replica, and creates
new ones only once no old replica is left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from controller.controllers.deployment.replicas import Replica


@dataclass
class Plan:
    create: int = 0
    delete: list[Replica] = field(default_factory=list)


def resolve(value: str, replicas: int, *, round_up: bool, default: str = "25%") -> int:
    """An int-or-percent (``"3"``, ``"25%"``) against ``replicas``."""
    text = value or default
    if text.endswith("%"):
        exact = int(text[:-1]) * replicas / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def fenceposts(max_surge: str, max_unavailable: str, replicas: int) -> tuple[int, int]:
    surge = resolve(max_surge, replicas, round_up=True)
    unavailable = resolve(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def by_rank(replicas: list[Replica]) -> list[Replica]:
    return sorted(replicas, key=lambda replica: replica.rank)


def plan_rolling(replicas: int, surge: int, unavailable: int, new: list[Replica], old: list[Replica]) -> Plan:
    """One step of a rolling update (see the module docstring); inputs are active replicas only."""
    if len(new) > replicas:
        return Plan(delete=by_rank(new)[: len(new) - replicas])
    total = len(new) + len(old)
    if len(new) < replicas:
        room = max(0, replicas + surge - total)
        create = min(room, replicas - len(new))
        if create:
            return Plan(create=create)
    if not old:
        return Plan()
    min_available = replicas - unavailable
    new_unavailable = sum(1 for replica in new if not replica.available)
    budget = total - min_available - new_unavailable
    if budget <= 0:
        return Plan()
    doomed = [replica for replica in by_rank(old) if not replica.available][:budget]
    budget -= len(doomed)
    available = sum(1 for replica in (*new, *old) if replica.available)
    healthy_old = [replica for replica in by_rank(old) if replica.available]
    doomed += healthy_old[: max(0, min(budget, available - min_available))]
    return Plan(delete=doomed)


def plan_recreate(replicas: int, new: list[Replica], old: list[Replica]) -> Plan:
    if old:
        return Plan(delete=list(old))
    if len(new) > replicas:
        return Plan(delete=by_rank(new)[: len(new) - replicas])
    return Plan(create=replicas - len(new))
