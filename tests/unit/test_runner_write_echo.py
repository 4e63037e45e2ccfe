"""A runner's own status write does not wake it a second time when the watch delivers the write's
echo before the write's answer (as a batched write often does), while anybody else's change that
arrives during the write still does."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from agent.workloads.workload_runner import WorkloadRunner
from atoll.clock import ManualClock
from atoll.v1 import object_pb2, pod_pb2
from tests.support.objects import make_pod


class EchoFirst:
    """A status writer whose answer comes after the watch delivered ``echoes`` to the runner: the
    write's own echo (its revision) and, with ``other``, somebody else's change just before it."""

    def __init__(self, other: bool = False) -> None:
        self.runner: WorkloadRunner | None = None
        self.revision = 10
        self.other = other

    async def write(self, obj: Any) -> Any:
        assert self.runner is not None
        if self.other:
            self.revision += 1
            changed = _pod(self.runner.latest, self.revision)
            changed.metadata.labels["changed"] = "by somebody else"
            self.runner.observe(changed)
        self.revision += 1
        stored = _pod(obj, self.revision)
        self.runner.observe(_pod(stored, self.revision))  # the echo first
        await asyncio.sleep(0)
        return stored


def _pod(message: Any, revision: int) -> pod_pb2.Pod:
    pod = pod_pb2.Pod()
    pod.CopyFrom(message.pod if isinstance(message, object_pb2.Object) else message)
    pod.metadata.resource_version = revision
    return pod


class CountingRunner(WorkloadRunner):
    kind = "Pod"

    def __init__(self, ctx: Any, message: Any) -> None:
        self.reconciles = 0
        super().__init__(ctx, message)

    async def reconcile(self) -> bool:
        self.reconciles += 1
        await self.write_status(self.latest, pod_pb2.PodStatus(phase="Running"))
        return False


async def _reconciles(writer: EchoFirst) -> int:
    ctx: Any = SimpleNamespace(clock=ManualClock(), statuses=writer)
    pod = make_pod("web").pod
    pod.metadata.resource_version = 10
    runner = CountingRunner(ctx, pod)
    writer.runner = runner
    for _ in range(20):
        await asyncio.sleep(0)
    await runner.close()
    return runner.reconciles


async def test_the_echo_of_its_own_write_arriving_first_wakes_nothing() -> None:
    assert await _reconciles(EchoFirst()) == 1


async def test_a_change_by_somebody_else_during_the_write_wakes_it_again() -> None:
    assert await _reconciles(EchoFirst(other=True)) >= 2
