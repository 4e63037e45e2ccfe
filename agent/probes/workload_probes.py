"""WorkloadProbes: the probes of one run of one container or VM, and what they mean together.

- ``started``: the startup probe passed once (True at once without one). Until then liveness
  and readiness probes do not run; afterwards they run on their own schedules, their initial
  delay counted from the run's start.
- ``ready``: started, and the readiness probe passing (no readiness probe: ready when started).
- ``failed``: (kind, output) once a liveness or startup probe failed ``failureThreshold`` times:
  the runner stops this run (and restarts it by its policy); every worker stops then.

``on_change(kind, result, passing)`` is called whenever a probe's verdict turns, with the attempt
that turned it; the runner wakes up and writes status (and an ``Unhealthy`` Event when failing).
A new run (restart) gets a new WorkloadProbes; ``close`` stops this one's workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.probes.checks import ProbeResult, ProbeTarget, run_check
from agent.probes.worker import Check, ProbeWorker
from atoll.clock import Clock
from atoll.v1 import probe_pb2

OnChange = Callable[[str, ProbeResult, bool], None]


class WorkloadProbes:
    def __init__(
        self,
        probes: Sequence[tuple[str, probe_pb2.Probe]],
        target: Callable[[], ProbeTarget],
        clock: Clock,
        started_at: float,
        on_change: OnChange,
    ) -> None:
        self._probes = {kind: probe for kind, probe in probes}
        self._target = target
        self._clock = clock
        self._started_at = started_at
        self._on_change = on_change
        self._workers: dict[str, ProbeWorker] = {}
        self.failed: tuple[str, str] | None = None
        self.started = "startup" not in self._probes
        if self.started:
            self._start_workers("liveness", "readiness")
        else:
            self._start_workers("startup")

    @property
    def ready(self) -> bool:
        if not self.started or self.failed is not None:
            return False
        readiness = self._workers.get("readiness")
        return readiness is None or readiness.passing is True

    def close(self) -> None:
        for worker in self._workers.values():
            worker.stop()

    async def wait_closed(self) -> None:
        """After ``close``: return once every worker has stopped."""
        for worker in self._workers.values():
            await worker.wait_stopped()

    def _start_workers(self, *kinds: str) -> None:
        for kind in kinds:
            probe = self._probes.get(kind)
            if probe is not None:
                self._workers[kind] = ProbeWorker(kind, probe, self._checker(kind, probe), self._clock,
                                                  self._started_at, self._changed)

    def _checker(self, kind: str, probe: probe_pb2.Probe) -> Check:
        async def check() -> ProbeResult:
            return await run_check(kind, probe, self._target())

        return check

    def _changed(self, worker: ProbeWorker) -> None:
        if self.failed is not None:
            return
        passing = worker.passing is True
        if worker.kind == "startup" and worker.passing is True:
            self.started = True
            self._start_workers("liveness", "readiness")
        elif worker.kind in ("startup", "liveness") and not passing:
            self.failed = (worker.kind, worker.last.output)
            self.close()
        self._on_change(worker.kind, worker.last, passing)
