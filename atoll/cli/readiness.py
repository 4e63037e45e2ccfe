"""When an applied object is ready, for ``apply --wait``: one rule per kind, the rest are ready
once written.

- Pod, VirtualMachine, Node: the Ready condition is True (a Pod that Succeeded is done; one that
  Failed has failed).
- Deployment: rolled out, as ``rollout status`` says it (rollout.progress).
- PersistentVolumeClaim: Bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atoll import kinds
from atoll.v1 import object_pb2


@dataclass(frozen=True)
class Readiness:
    ready: bool
    failed: bool
    detail: str  # what it waits for, for the progress display


def readiness(obj: object_pb2.Object) -> Readiness:
    kind = kinds.of_object(obj)
    message = kinds.unwrap(obj)
    if kind.name == "Deployment":
        from atoll.cli.rollout import progress

        text, done, failed = progress(message)
        return Readiness(done, failed, text)
    if kind.name == "PersistentVolumeClaim":
        phase = message.status.phase or "Pending"
        return Readiness(phase == "Bound", phase == "Lost", phase)
    if kind.name in ("Pod", "VirtualMachine", "Node"):
        return _ready_condition(message)
    return Readiness(True, False, "")


def _ready_condition(message: Any) -> Readiness:
    phase = getattr(message.status, "phase", "")
    if phase == "Succeeded":
        return Readiness(True, False, phase)
    ready = next((c for c in message.status.conditions if c.type == "Ready"), None)
    detail = phase or "no status yet"
    if ready is not None and ready.reason:
        detail = f"{detail}: {ready.reason}"
    return Readiness(ready is not None and ready.status == "True", phase == "Failed", detail)
