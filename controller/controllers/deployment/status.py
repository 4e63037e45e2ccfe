"""The status a Deployment should show for the replicas it has: counts and the Progressing and
Available conditions, with Kubernetes' reasons.

- Available: True (MinimumReplicasAvailable) when available >= replicas - maxUnavailable.
- Progressing: True NewRevisionAvailable once every replica runs the current template and is
  available; True RevisionUpdated while a rollout moves (any count changed); False
  ProgressDeadlineExceeded when a rollout made no progress for progressDeadlineSeconds; Unknown
  DeploymentPaused while paused. ``last_heartbeat_time`` is the last progress (Kubernetes'
  lastUpdateTime); ``last_transition_time`` changes only when status or reason changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from atoll.clock import to_timestamp
from atoll.v1 import deployment_pb2, meta_pb2
from controller.controllers.conditions import find_condition
from controller.controllers.deployment.replicas import Replica


@dataclass(frozen=True)
class Counts:
    replicas: int
    updated: int
    ready: int
    available: int


def count(new: list[Replica], old: list[Replica]) -> Counts:
    every = [*new, *old]
    ready = sum(1 for replica in every if replica.ready)
    available = sum(1 for replica in every if replica.available)
    return Counts(len(every), len(new), ready, available)


def complete(deployment: deployment_pb2.Deployment, counts: Counts) -> bool:
    desired = deployment.spec.replicas
    return counts.updated == desired and counts.replicas == desired and counts.available == desired


def desired_status(
    deployment: deployment_pb2.Deployment,
    counts: Counts,
    min_available: int,
    revision: int,
    now: float,
) -> deployment_pb2.DeploymentStatus:
    """The status to write; conditions keep their timestamps unless they change."""
    previous = deployment.status
    status = deployment_pb2.DeploymentStatus(
        observed_generation=deployment.metadata.generation,
        replicas=counts.replicas,
        updated_replicas=counts.updated,
        ready_replicas=counts.ready,
        available_replicas=counts.available,
        unavailable_replicas=max(0, deployment.spec.replicas - counts.available),
    )
    moved = (
        previous.replicas,
        previous.updated_replicas,
        previous.ready_replicas,
        previous.available_replicas,
        previous.observed_generation,
    ) != (counts.replicas, counts.updated, counts.ready, counts.available, status.observed_generation)
    if counts.available >= min_available:
        available = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    else:
        available = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    old_progressing = find_condition(previous.conditions, "Progressing")
    name = deployment.metadata.name
    if deployment.spec.paused:
        progressing = ("Unknown", "DeploymentPaused", "Deployment is paused.")
    elif complete(deployment, counts):
        progressing = ("True", "NewRevisionAvailable", f'deployment "{name}" revision {revision} is available.')
    elif moved or old_progressing is None or old_progressing.reason == "NewRevisionAvailable":
        progressing = ("True", "RevisionUpdated", f'deployment "{name}" is progressing to revision {revision}.')
    elif deadline_passed(deployment, old_progressing, now):
        progressing = (
            "False",
            "ProgressDeadlineExceeded",
            f'deployment "{name}" made no progress for {deployment.spec.progress_deadline_seconds}s.',
        )
    else:
        progressing = (old_progressing.status, old_progressing.reason, old_progressing.message)
    status.conditions.append(_condition(previous, "Progressing", progressing, now, progressed=moved))
    status.conditions.append(_condition(previous, "Available", available, now, progressed=False))
    return status


def deadline_passed(
    deployment: deployment_pb2.Deployment, progressing: meta_pb2.Condition | None, now: float
) -> bool:
    return seconds_to_deadline(deployment, progressing, now) <= 0


def seconds_to_deadline(
    deployment: deployment_pb2.Deployment, progressing: meta_pb2.Condition | None, now: float
) -> float:
    """Seconds until the rollout counts as stuck, measured from its last progress."""
    deadline = deployment.spec.progress_deadline_seconds or 600
    if progressing is None or not progressing.HasField("last_heartbeat_time"):
        return float(deadline)
    last = progressing.last_heartbeat_time.ToNanoseconds() / 1e9
    return last + deadline - now


def _condition(
    previous: deployment_pb2.DeploymentStatus,
    kind: str,
    value: tuple[str, str, str],
    now: float,
    *,
    progressed: bool,
) -> meta_pb2.Condition:
    status, reason, message = value
    condition = meta_pb2.Condition(type=kind, status=status, reason=reason, message=message)
    old = find_condition(previous.conditions, kind)
    if old is not None and (old.status, old.reason) == (status, reason):
        condition.last_transition_time.CopyFrom(old.last_transition_time)
    else:
        condition.last_transition_time.CopyFrom(to_timestamp(now))
    if old is not None and not progressed and old.HasField("last_heartbeat_time") and old.reason == reason:
        condition.last_heartbeat_time.CopyFrom(old.last_heartbeat_time)
    else:
        condition.last_heartbeat_time.CopyFrom(to_timestamp(now))
    return condition
