"""The reconciler contract every controller implements, and what a reconcile asks for next.

Contract of ``Reconciler.reconcile(key)`` (level-based, as in controller-runtime):
- It reads the current state (from informer caches, or the API when it must be exact) and makes
  one step towards the desired state. Calling it again with nothing changed does nothing.
- Returning ``Result(requeue_after=s)`` asks to see the key again after ``s`` seconds (timers:
  grace periods, progress deadlines); returning ``Result()`` or None means "done until something
  changes", and the key's back-off is reset.
- Raising retries the key with per-key exponential back-off under the queue's global rate limit.
  ``ApiError`` ABORTED (someone else wrote first) and NOT_FOUND are expected and logged quietly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from controller.runtime.workqueue import WorkQueue


@dataclass(frozen=True)
class Result:
    """What a reconcile asks for next; ``requeue_after`` None means nothing."""

    requeue_after: float | None = None


class Reconciler(Protocol):
    """One controller's logic; ``queue`` is fed by its informer handlers."""

    name: str
    queue: WorkQueue

    async def reconcile(self, key: str) -> Result | None: ...
