"""Whether an object is ready for use, as each kind's strategy says it (``Kind.readiness``):
``atoll apply --wait`` waits for it. Kinds without a rule are ready once written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Readiness:
    ready: bool
    failed: bool = False
    detail: str = ""  # what is awaited, for a progress display


READY = Readiness(True)


def ready_condition(message: Any) -> Readiness:
    """Ready when the Ready condition is True (a workload that Succeeded is done; one that Failed
    has failed); the detail is the phase and the condition's reason."""
    phase = getattr(message.status, "phase", "")
    if phase == "Succeeded":
        return Readiness(True, False, phase)
    ready = next((c for c in message.status.conditions if c.type == "Ready"), None)
    detail = phase or "no status yet"
    if ready is not None and ready.reason:
        detail = f"{detail}: {ready.reason}"
    return Readiness(ready is not None and ready.status == "True", phase == "Failed", detail)


def rollout_progress(deployment: Any) -> tuple[str, bool, bool]:
    """(message, done, failed) of a Deployment's rollout, with kubectl's wording (rollout status)."""
    name, spec, status = deployment.metadata.name, deployment.spec, deployment.status
    if deployment.metadata.generation > status.observed_generation:
        return "Waiting for deployment spec update to be observed...", False, False
    for condition in status.conditions:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            return f'deployment "{name}" exceeded its progress deadline', False, True
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    updated, available = status.updated_replicas, status.available_replicas
    if updated < spec.replicas:
        return f"{waiting}{updated} out of {spec.replicas} new replicas have been updated...", False, False
    if status.replicas > updated:
        return f"{waiting}{status.replicas - updated} old replicas are pending termination...", False, False
    if available < updated:
        return f"{waiting}{available} of {updated} updated replicas are available...", False, False
    return f'deployment "{name}" successfully rolled out', True, False
