"""A scheduler harness: an in-memory snapshot, a profile's framework and a queue, fed by builders."""

from __future__ import annotations

from scheduler.core import Outcome, Scheduler
from scheduler.framework.profile import DEFAULT_PROFILE, Profile, build_framework
from scheduler.framework.runtime import Decision
from scheduler.plugins import REGISTRY
from scheduler.queue import SchedulingQueue
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo
from tests.unit.scheduler.builders import NodeBuilder, PodBuilder, VmBuilder


class Harness:
    """Nodes and bound workloads in, decisions out; time is whatever the test passes."""

    def __init__(self, *nodes: NodeBuilder, profile: Profile = DEFAULT_PROFILE) -> None:
        self.snapshot = ClusterSnapshot()
        self.framework = build_framework(profile, REGISTRY)
        self.queue = SchedulingQueue()
        self.scheduler = Scheduler(self.framework, self.snapshot, self.queue)
        for node in nodes:
            self.add_node(node)

    def add_node(self, node: NodeBuilder) -> Harness:
        self.snapshot.upsert_node(node.facts())
        return self

    def bind(self, workload: PodBuilder | VmBuilder, node: str) -> Harness:
        """Record ``workload`` as already running on ``node``."""
        self.snapshot.upsert_workload(workload.bound_to(node).info())
        return self

    def decide(self, workload: PodBuilder | VmBuilder | WorkloadInfo) -> Decision:
        """Framework decision only: nothing is assumed or queued."""
        info = workload if isinstance(workload, WorkloadInfo) else workload.info()
        return self.framework.schedule(info, self.snapshot)

    def place(self, workload: PodBuilder | VmBuilder, now: float = 0.0) -> Outcome:
        """Queue, pop and decide ``workload`` as the scheduling loop would (placements are assumed)."""
        self.queue.add(workload.info())
        info = self.queue.pop(now)
        assert info is not None
        return self.scheduler.decide(info, now)


def assert_single_node_decision(
    node: NodeBuilder, workload: PodBuilder | VmBuilder, placed: bool, reasons: str
) -> None:
    """On a one-node cluster, ``workload`` is placed, or refused with exactly ``reasons``."""
    decision = Harness(node).decide(workload)
    assert decision.placed is placed
    if not placed:
        assert decision.explanation is not None
        assert decision.explanation.message() == f"0/1 nodes are available: {reasons}."
