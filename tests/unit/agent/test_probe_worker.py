"""Probe semantics on a ManualClock (kubelet's prober): schedule, thresholds, startup gating,
liveness and startup failures, readiness."""

from __future__ import annotations

from agent import metrics
from agent.drivers.abilities import ExecResult
from agent.probes.checks import ProbeResult, ProbeTarget
from agent.probes.worker import Check, ProbeWorker
from agent.probes.workload_probes import WorkloadProbes
from atoll.clock import ManualClock, settle
from atoll.v1 import probe_pb2

START = 1_700_000_000.0


def probe(period: int = 10, delay: int = 0, success: int = 1, failure: int = 3) -> probe_pb2.Probe:
    return probe_pb2.Probe(
        exec=probe_pb2.ExecAction(command=["check"]), period_seconds=period, initial_delay_seconds=delay,
        timeout_seconds=1, success_threshold=success, failure_threshold=failure,
    )


def ignore(worker: ProbeWorker) -> None:
    """An on_change for tests that only look at the attempts."""


class Scripted:
    """A check whose answers the test sets (by probe kind), recording when it was asked."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.answers: dict[str, bool] = {}
        self.asked: list[tuple[str, float]] = []

    def check(self, kind: str) -> Check:
        async def run() -> ProbeResult:
            self.asked.append((kind, self.clock.now() - START))
            ok = self.answers.get(kind, True)
            return ProbeResult(ok, "" if ok else f"{kind} says no")

        return run


async def test_first_attempt_after_the_initial_delay_then_one_per_period() -> None:
    clock = ManualClock(START)
    script = Scripted(clock)
    worker = ProbeWorker("readiness", probe(period=5, delay=12), script.check("readiness"), clock, START, ignore)
    await settle()
    await clock.advance_and_settle(26)
    assert [at for _, at in script.asked] == [12, 17, 22]
    worker.stop()
    await worker.wait_stopped()


async def test_an_initial_delay_already_past_probes_at_once() -> None:
    clock = ManualClock(START + 100)
    script = Scripted(clock)
    worker = ProbeWorker("readiness", probe(delay=30), script.check("readiness"), clock, START, ignore)
    await clock.advance_and_settle(0)
    assert [at for _, at in script.asked] == [100]
    worker.stop()
    await worker.wait_stopped()


async def test_thresholds_turn_the_verdict_and_report_each_turn() -> None:
    clock = ManualClock(START)
    script = Scripted(clock)
    turns: list[tuple[float, bool]] = []
    worker = ProbeWorker("readiness", probe(period=1, success=2, failure=3), script.check("readiness"), clock, START,
                         lambda w: turns.append((clock.now() - START, bool(w.passing))))
    assert worker.passing is None, "readiness starts unknown"
    await settle()
    await clock.advance_and_settle(1)  # attempts at 0 and 1 succeed: passing after the second
    assert turns == [(1, True)]
    script.answers["readiness"] = False
    await clock.advance_and_settle(3)  # failures at 2, 3, 4: failing after the third
    assert turns == [(1, True), (4, False)]
    assert worker.last.output == "readiness says no"
    worker.stop()
    await worker.wait_stopped()


async def test_every_attempt_is_counted_by_probe_and_result() -> None:
    clock = ManualClock(START)
    script = Scripted(clock)
    script.answers["startup"] = False
    def failed() -> float:
        labels = {"probe": "startup", "result": "failed"}
        return metrics.REGISTRY.get_sample_value("atoll_agent_probe_results_total", labels) or 0.0

    before = failed()
    worker = ProbeWorker("startup", probe(period=1, failure=10), script.check("startup"), clock, START, ignore)
    await settle()
    await clock.advance_and_settle(2)
    assert failed() - before == 3
    worker.stop()
    await worker.wait_stopped()


async def test_a_liveness_probe_starts_passing() -> None:
    clock = ManualClock(START)
    worker = ProbeWorker("liveness", probe(), Scripted(clock).check("liveness"), clock, START, ignore)
    assert worker.passing is True
    worker.stop()
    await worker.wait_stopped()


async def workload(clock: ManualClock, script: Scripted, probes: list[tuple[str, probe_pb2.Probe]],
             turns: list[tuple[str, bool]]) -> WorkloadProbes:
    """WorkloadProbes whose checks go to ``script`` (through a SimulatedProbes-like fake driver)."""

    class Driver:
        name = "fake"

        async def answer_probe(self, task_id: str, kind: str, handler: str, command: object) -> ExecResult:
            result = await script.check(kind)()
            return ExecResult(0 if result.success else 1, result.output)

    target = ProbeTarget(Driver(), "t1", "10.0.0.5")  # type: ignore[arg-type]
    made = WorkloadProbes(probes, lambda: target, clock, START,
                          lambda kind, result, passing: turns.append((kind, passing)))
    await settle()
    return made


async def test_startup_gates_liveness_and_readiness_until_it_passes() -> None:
    clock = ManualClock(START)
    script = Scripted(clock)
    script.answers["startup"] = False
    turns: list[tuple[str, bool]] = []
    probes = await workload(clock, script, [("startup", probe(period=2, failure=30)), ("liveness", probe(period=10)),
                                      ("readiness", probe(period=10, delay=5))], turns)
    await clock.advance_and_settle(10)
    assert {kind for kind, _ in script.asked} == {"startup"}
    assert (probes.started, probes.ready) == (False, False)
    script.answers["startup"] = True
    await clock.advance_and_settle(2)  # startup passes at 12: liveness at once, readiness at once (delay past)
    assert probes.started
    asked_after = [(kind, at) for kind, at in script.asked if at >= 12]
    assert asked_after == [("startup", 12), ("liveness", 12), ("readiness", 12)]
    assert probes.ready
    await clock.advance_and_settle(20)
    assert [kind for kind, at in script.asked if at > 12 and kind == "startup"] == [], "startup never runs again"
    assert turns == [("startup", True), ("readiness", True)]
    probes.close()


async def test_a_failing_startup_probe_fails_the_run_and_stops_probing() -> None:
    clock = ManualClock(START)
    script = Scripted(clock)
    script.answers["startup"] = False
    turns: list[tuple[str, bool]] = []
    probes = await workload(clock, script, [("startup", probe(period=1, failure=3)), ("liveness", probe())], turns)
    await clock.advance_and_settle(5)
    assert probes.failed == ("startup", "startup says no")
    assert turns == [("startup", False)]
    asked = len(script.asked)
    await clock.advance_and_settle(30)
    assert len(script.asked) == asked == 3
    assert clock.pending == 0


async def test_liveness_failing_fails_the_run_while_readiness_only_unreadies() -> None:
    clock = ManualClock(START)
    script = Scripted(clock)
    turns: list[tuple[str, bool]] = []
    probes = await workload(clock, script, [("liveness", probe(period=10, failure=3)),
                                            ("readiness", probe(period=10, failure=1))], turns)
    await clock.advance_and_settle(0)
    assert probes.ready and probes.failed is None
    script.answers["readiness"] = False
    await clock.advance_and_settle(10)
    assert not probes.ready and probes.failed is None
    script.answers["liveness"] = False
    await clock.advance_and_settle(20)
    assert probes.failed is None, "two liveness failures are below the threshold"
    await clock.advance_and_settle(10)
    assert probes.failed == ("liveness", "liveness says no")
    assert turns == [("readiness", True), ("readiness", False), ("liveness", False)]
    await settle()
    assert clock.pending == 0, "every worker stopped"


async def test_without_readiness_probe_a_started_run_is_ready() -> None:
    clock = ManualClock(START)
    probes = await workload(clock, Scripted(clock), [("liveness", probe())], [])
    assert probes.ready
    probes.close()
