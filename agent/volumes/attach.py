"""Attaching a workload's claims on this node before it starts: one rule for pods and VMs.

``VolumeAttach.attach(workload)`` resolves every claim the workload names (claims.py) and answers
either the resolved volumes or a ``Waiting`` that says why not yet and when to look again:

- a claim not usable yet (not Bound, volume not bound to it yet, data not made): reason
  VolumeNotReady, retried after 0.1 s doubling to 2 s, so a claim bound a moment later costs a
  moment, not a flat 2 s;
- a claim whose volume this node cannot reach (another node's local volume, a shared volume and
  no shared dir): reason VolumeUnusable, ``retry_at`` None (the caller decides: a VM run fails,
  a pod keeps waiting, as kubelet's FailedMount does);
- on a simulated node (no volume dirs), once resolved, the configured attach latency from the
  first attempt: reason "" (nothing is wrong), ``retry_at`` when it is over.

Every held-back attempt counts in ``atoll_agent_volume_attach_errors_total`` by reason (latency
waits aside), and a finished attachment observes ``atoll_agent_volume_attach_duration_seconds``
from its first attempt. One ``VolumeAttach`` serves one workload; an attachment that succeeded
ends its start, so the next ``attach`` (a VM's next run) is timed from its own first attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent import metrics
from agent.volumes.claims import (
    CLAIM_NOT_READY_REASON,
    CLAIM_UNUSABLE_REASON,
    ClaimNotReady,
    ClaimUnusable,
    ClaimVolume,
    VolumeDirs,
    resolve_claims,
)
from atoll.clock import Clock
from atoll.ports import Getter

RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 0.1, 2.0


@dataclass(frozen=True)
class Waiting:
    """The workload cannot start yet: ``reason`` (VolumeNotReady, VolumeUnusable; "" while a
    simulated attach takes its time), one line, and when to try again (None: no time is known)."""

    reason: str
    message: str
    retry_at: float | None


class VolumeAttach:
    def __init__(self, api: Getter, node: str, dirs: VolumeDirs | None, clock: Clock, sim_seconds: float) -> None:
        self._api, self._node, self._dirs, self._clock = api, node, dirs, clock
        self._sim_seconds = sim_seconds if dirs is None else 0.0
        self._started = 0.0  # when this start began attaching (0: not attaching)
        self._waits = 0  # VolumeNotReady answers in a row

    async def attach(self, workload: Any) -> dict[str, ClaimVolume] | Waiting:
        """The workload's claims resolved by claim name, or why it waits (module docstring)."""
        now = self._clock.now()
        self._started = self._started or now
        try:
            volumes = await resolve_claims(self._api, workload, self._node, self._dirs)
        except ClaimNotReady as err:
            metrics.VOLUME_ATTACH_ERRORS.labels(CLAIM_NOT_READY_REASON).inc()
            retry_at = now + min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**self._waits)
            self._waits += 1
            return Waiting(CLAIM_NOT_READY_REASON, str(err), retry_at)
        except ClaimUnusable as err:
            metrics.VOLUME_ATTACH_ERRORS.labels(CLAIM_UNUSABLE_REASON).inc()
            return Waiting(CLAIM_UNUSABLE_REASON, str(err), None)
        self._waits = 0
        attached_at = self._started + self._sim_seconds
        if now < attached_at:
            return Waiting("", "", attached_at)
        metrics.VOLUME_ATTACH_DURATION.observe(max(0.0, now - self._started))
        self._started = 0.0
        return volumes
