"""ProbeWorker: one probe of one run of a container or VM, on its own schedule (kubelet's
prober worker).

Schedule: the first attempt at ``started_at + initialDelaySeconds`` (at once if that is past),
then one every ``periodSeconds`` of the Clock. Each attempt ends within ``timeoutSeconds``.
Verdict (``passing``): None (not known yet) for readiness and startup probes, True for liveness
probes, at first; it turns False after ``failureThreshold`` consecutive failed attempts and True
after ``successThreshold`` consecutive successful ones. ``on_change`` is called each time it turns.
A startup probe stops once it passed (it never runs again in that run); any probe stops once
``stop`` is called. The worker never raises: an attempt that breaks counts as a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from agent import metrics
from agent.probes.checks import ProbeResult
from atoll.clock import Clock
from atoll.v1 import probe_pb2

log = logging.getLogger(__name__)
Check = Callable[[], Awaitable[ProbeResult]]


class ProbeWorker:
    def __init__(
        self,
        kind: str,
        probe: probe_pb2.Probe,
        check: Check,
        clock: Clock,
        started_at: float,
        on_change: Callable[[ProbeWorker], None],
    ) -> None:
        self.kind = kind
        self.probe = probe
        self.passing: bool | None = True if kind == "liveness" else None
        self.last = ProbeResult(kind == "liveness")
        self.attempts = 0
        self._check = check
        self._clock = clock
        self._started_at = started_at
        self._on_change = on_change
        self._streak = 0  # consecutive attempts with the last attempt's outcome
        self._task = asyncio.create_task(self._run(), name=f"probe/{kind}")

    def stop(self) -> None:
        """No further attempts (idempotent); an attempt in flight is cancelled."""
        self._task.cancel()

    async def wait_stopped(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        period = max(1, self.probe.period_seconds)
        first = self._started_at + max(0, self.probe.initial_delay_seconds)
        await self._clock.sleep(first - self._clock.now())
        while True:
            try:
                result = await self._check()
            except Exception as err:  # a bug in a check must not end the schedule
                log.exception("%s probe attempt failed", self.kind)
                result = ProbeResult(False, f"probe error: {type(err).__name__}")
            self._record(result)
            if self.kind == "startup" and self.passing is True:
                return
            await self._clock.sleep(period)

    def _record(self, result: ProbeResult) -> None:
        metrics.PROBE_RESULTS.labels(self.kind, "successful" if result.success else "failed").inc()
        self._streak = self._streak + 1 if self.attempts and result.success == self.last.success else 1
        self.attempts += 1
        self.last = result
        needed = self.probe.success_threshold if result.success else self.probe.failure_threshold
        if self.passing is not result.success and self._streak >= max(1, needed):
            self.passing = result.success
            self._on_change(self)
