"""Scheduler: the pure decision loop over a snapshot and a queue. No I/O, time passed in.

``next_batch(now, limit)`` pops workloads and decides each one, in order, against a snapshot
that already includes the earlier decisions of the batch (they are *assumed*). Outcomes:

- Placement: bind ``workload`` to ``node``; the scheduling loop reports back ``bound`` or ``bind_failed``.
- Unschedulable: fits nowhere; ``explanation`` counts every reason; ``preemption``, when set,
  names victims to delete and the node the preemptor is nominated to (room is held there).
- Invalid: the workload cannot be interpreted; retried after backoff.

The API server only checks the workload's revision and that it is unbound; capacity is
enforced here, because this scheduler is the only binder and every placement is assumed in
the snapshot before the next decision. Two bindings therefore never overcommit a node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.framework.cycle_state import CycleState
from scheduler.framework.explain import Explanation
from scheduler.framework.runtime import Framework
from scheduler.preemption import PreemptionPlan, plan_preemption
from scheduler.queue import ALL_EVENTS, NODE_EVENTS, ClusterEvent, SchedulingQueue
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo


@dataclass(frozen=True, slots=True)
class Placement:
    workload: WorkloadInfo
    node: str
    state: CycleState | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Unschedulable:
    workload: WorkloadInfo
    explanation: Explanation
    preemption: PreemptionPlan | None = None

    @property
    def message(self) -> str:
        return self.explanation.message()


@dataclass(frozen=True, slots=True)
class Invalid:
    workload: WorkloadInfo
    message: str


Outcome = Placement | Unschedulable | Invalid


class Scheduler:
    """Decides placements; owns the snapshot's assumptions and the queue's bookkeeping."""

    def __init__(
        self, framework: Framework, snapshot: ClusterSnapshot, queue: SchedulingQueue, preemption: bool = True
    ) -> None:
        self.framework = framework
        self.snapshot = snapshot
        self.queue = queue
        self.preemption = preemption

    def next_batch(self, now: float, limit: int) -> list[Outcome]:
        """Pop up to ``limit`` ready workloads and decide each."""
        return [self.decide(info, now) for info in self.queue.pop_batch(now, limit)]

    def decide(self, workload: WorkloadInfo, now: float) -> Outcome:
        """Decide one popped workload; placements are assumed, failures re-queued."""
        self.snapshot.release_nomination(workload.key)
        decision = self.framework.schedule(workload, self.snapshot)
        if decision.placed:
            state = decision.state
            if state is not None:
                status = self.framework.reserve(state, workload, self.snapshot, decision.node)
                if not status.ok:
                    self.queue.backoff(workload.key, now)
                    return Invalid(workload, "; ".join(status.reasons) or "reserve failed")
            self.snapshot.assume(workload, decision.node)
            return Placement(workload, decision.node, decision.state)
        if decision.error or decision.explanation is None:
            self.queue.backoff(workload.key, now)
            return Invalid(workload, decision.error or "no explanation")
        explanation = decision.explanation
        plan = plan_preemption(self.framework, self.snapshot, workload) if self.preemption else None
        if plan is not None:
            for victim in plan.victims:
                self.snapshot.mark_terminating(victim.key)
            self.snapshot.nominate(workload, plan.node)
            explanation = Explanation(
                explanation.total_nodes, explanation.counts, plan.describe(), explanation.resolvable
            )
            self.queue.unschedulable(workload.key, now, frozenset({ClusterEvent.WORKLOAD_DELETED}))
        else:
            self.queue.unschedulable(workload.key, now, _wake_on(explanation))
        return Unschedulable(workload, explanation, plan)

    def bound(self, placement: Placement) -> None:
        """The API accepted the binding."""
        self.queue.done(placement.workload.key)

    def bind_failed(self, placement: Placement, now: float, retry: bool = True) -> None:
        """The API refused the binding: undo the assumption; retry after backoff if ``retry``."""
        self.snapshot.forget(placement.workload.key)
        if placement.state is not None:
            self.framework.unreserve(placement.state, placement.workload, self.snapshot, placement.node)
        if retry:
            self.queue.backoff(placement.workload.key, now)
        else:
            self.queue.remove(placement.workload.key)


def _wake_on(explanation: Explanation) -> frozenset[ClusterEvent]:
    # Node changes can fix any reason; deletions only help when some reason was resolvable.
    return ALL_EVENTS if explanation.resolvable else NODE_EVENTS
