"""The probes of a workload's runs: one WorkloadProbes (agent/probes/) per run of each container
of a pod, or of a VM (named ``vm``).

The runner calls ``sync`` for every running container (booted VM) each reconcile: it starts the
probes of a run that has none yet (a new start, or a task adopted after an agent restart: the
schedules count from the run's real start) and answers whether the run is ready. ``failed``
says when a liveness or startup probe asks for the run to be stopped; ``forget`` drops a run's
probes once its task ended. A probe verdict that turns to failing is an ``Unhealthy`` Warning
Event (once per turn, not per attempt, so a fleet of failing workloads does not flood the API),
and every turn wakes the runner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from agent.drivers.protocol import Driver
from agent.probes.checks import ProbeResult, ProbeTarget
from agent.probes.workload_probes import WorkloadProbes
from agent.workloads.context import NodeContext
from atoll.v1 import meta_pb2, pod_pb2, probe_pb2


@dataclass(frozen=True)
class ProbeSpec:
    """The probes of one container (or the VM) and the ports they may name."""

    probes: Sequence[tuple[str, probe_pb2.Probe]]
    ports: Sequence[pod_pb2.ContainerPort] = ()


class RunProbes:
    def __init__(self, ctx: NodeContext, kind: str, meta: meta_pb2.ObjectMeta, specs: Mapping[str, ProbeSpec],
                 wake: Callable[[], None]) -> None:
        self._ctx = ctx
        self._kind = kind
        self._meta = meta
        self._specs = {name: spec for name, spec in specs.items() if spec.probes}
        self._wake = wake
        self._runs: dict[str, tuple[float, WorkloadProbes]] = {}  # name -> (run start, probes)

    def sync(self, name: str, driver: Driver, task_id: str, address: Callable[[], str], started_at: float) -> bool:
        """Probe the run of ``name`` that started at ``started_at`` (starting its probes if it is
        new); whether it is ready (True when ``name`` has no probes). ``address`` is read at each
        attempt (a VM's address may come after its start)."""
        spec = self._specs.get(name)
        if spec is None:
            return True
        run = self._runs.get(name)
        if run is None or run[0] != started_at:
            self.forget(name)

            def target() -> ProbeTarget:
                return ProbeTarget(driver, task_id, address(), tuple(spec.ports))

            run = (started_at, WorkloadProbes(spec.probes, target, self._ctx.clock, started_at, self._reporter(name)))
            self._runs[name] = run
        return run[1].ready

    def failed(self, name: str) -> tuple[str, str] | None:
        """(probe kind, output) when a liveness or startup probe failed this run of ``name``."""
        run = self._runs.get(name)
        return run[1].failed if run is not None else None

    def grace(self, name: str, kind: str, default: float) -> float:
        """The stop grace period when a ``kind`` probe failed: the probe's own, else ``default``."""
        spec = self._specs.get(name)
        probe = dict(spec.probes).get(kind) if spec is not None else None
        if probe is not None and probe.HasField("termination_grace_period_seconds"):
            return float(probe.termination_grace_period_seconds)
        return default

    def forget(self, name: str) -> None:
        """Stop the probes of ``name``'s run (its task ended or is being stopped)."""
        run = self._runs.pop(name, None)
        if run is not None:
            run[1].close()

    async def close(self) -> None:
        """Stop every run's probes and wait until they have (the runner is closing)."""
        runs = [probes for _, probes in self._runs.values()]
        self._runs.clear()
        for probes in runs:
            probes.close()
        for probes in runs:
            await probes.wait_closed()

    def _reporter(self, name: str) -> Callable[[str, ProbeResult, bool], None]:
        what = "the virtual machine" if self._kind == "VirtualMachine" else f"container {name}"

        def changed(kind: str, result: ProbeResult, passing: bool) -> None:
            if not passing:
                detail = f": {result.output}" if result.output else ""
                self._ctx.event(self._kind, self._meta, "Unhealthy",
                                f"{kind.capitalize()} probe of {what} failed{detail}", warning=True)
            self._wake()

        return changed
