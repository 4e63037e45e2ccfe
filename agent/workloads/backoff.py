"""Restart policy and crash-loop back-off, as Kubernetes' kubelet does it (pure functions).

Back-off: the first restart after a crash is immediate; each further one waits ``initial``
seconds doubling up to ``maximum`` (10 s, 20 s, 40 s, ... 5 min). A container that ran at least
``reset_after`` seconds (10 min) before it ended starts over with an immediate restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.drivers.protocol import ExitResult


@dataclass(frozen=True)
class RestartBackoff:
    initial: float = 10.0
    maximum: float = 300.0
    reset_after: float = 600.0

    def delay(self, restarts_in_window: int) -> float:
        """Seconds to wait before the next restart, given restarts since the window began."""
        if restarts_in_window <= 0:
            return 0.0
        return float(min(self.maximum, self.initial * 2 ** (restarts_in_window - 1)))

    def window_resets(self, ran_for: float) -> bool:
        """Whether a run of ``ran_for`` seconds was long enough to forget earlier crashes."""
        return ran_for >= self.reset_after


def should_restart(policy: str, result: ExitResult) -> bool:
    """Always restarts everything; OnFailure restarts non-zero exits and kills; Never nothing."""
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return result.failed
    return True
