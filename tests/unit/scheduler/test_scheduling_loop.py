"""The scheduling loop against a fake API: batched binds, explanations written, event-driven retries,
conflicts, preemption and invalid workloads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from atoll import kinds
from atoll.clock import SystemClock
from scheduler.framework.profile import DEFAULT_PROFILE, build_framework
from scheduler.plugins import REGISTRY
from scheduler.queue import SchedulingQueue
from scheduler.scheduling_loop import SchedulingLoop
from tests.support.fake_api import FakeApi
from tests.unit.scheduler.builders import make_node, make_pod, make_vm

Running = tuple[FakeApi, SchedulingLoop]


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    api = await FakeApi(SystemClock()).setup()
    loop = SchedulingLoop(
        api, build_framework(DEFAULT_PROFILE, REGISTRY), queue=SchedulingQueue(initial_backoff=0.01, max_backoff=0.05)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    yield api, loop
    stop.set()
    await asyncio.wait_for(task, 5)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


def node_of(api: FakeApi, name: str, kind: str = "Pod") -> str:
    obj = api.latest(kind, name)
    return "" if obj is None else str(kinds.unwrap(obj).spec.node_name)


async def test_pods_are_bound_in_one_batch_with_scheduled_events(running: Running) -> None:
    api, loop = running
    await api.put(make_node("a").build())
    await api.put(make_node("b").build())
    for i in range(20):
        await api.put(make_pod(f"p{i}").build())
    await until(lambda: all(node_of(api, f"p{i}") for i in range(20)))
    assert sum(len(call) for call in api.bind_calls) == 20
    assert len(api.bind_calls) <= 3
    await loop.drain_reports()
    scheduled = [r for r in api.event_reasons() if r[0] == "Scheduled"]
    assert len(scheduled) == 20
    assert scheduled[0][2].startswith("Successfully assigned default/p")


async def test_unschedulable_is_explained_then_placed_when_a_node_appears(
    running: Running,
) -> None:
    api, loop = running
    await api.put(make_node("small").cpu("1").build())
    await api.put(make_pod("big").requests(cpu="2").build())
    await until(lambda: bool(api.status_updates))
    stored = api.latest("Pod", "big")
    assert stored is not None
    status = kinds.unwrap(stored).status
    condition = status.conditions[0]
    expected = "0/1 nodes are available: 1 insufficient cpu."
    assert (condition.type, condition.status, condition.reason, condition.message) == (
        "PodScheduled",
        "False",
        "Unschedulable",
        expected,
    )
    await loop.drain_reports()
    assert ("FailedScheduling", "big", expected) in api.event_reasons()
    assert api.events[-1].event.type == "Warning" and api.events[-1].event.source == "scheduler"
    await api.put(make_node("large").cpu("4").build())
    await until(lambda: node_of(api, "big") == "large")


async def test_identical_node_updates_do_not_retry_unschedulable_pods(running: Running) -> None:
    api, loop = running
    await api.put(make_node("small").cpu("1").build())
    await api.put(make_pod("big").requests(cpu="2").build())
    await until(lambda: loop.queue.place_of("Pod/default/big") == "unschedulable")
    attempts = loop.stats["unschedulable"]
    for _ in range(5):
        await api.put(make_node("small").cpu("1").build())
    await asyncio.sleep(0.1)
    assert loop.stats["unschedulable"] == attempts


async def test_a_conflict_is_retried_with_the_newer_revision(running: Running) -> None:
    api, loop = running
    api.bind_script = ["CONFLICT"]
    await api.put(make_node("a").build())
    await api.put(make_pod("p").build())
    await until(lambda: node_of(api, "p") == "a")
    assert loop.stats["bind_conflict"] == 1 and loop.stats["bind_ok"] == 1


async def test_already_bound_is_not_retried(running: Running) -> None:
    api, loop = running
    api.bind_script = ["ALREADY_BOUND"]
    await api.put(make_node("a").build())
    await api.put(make_pod("p").build())
    await until(lambda: loop.stats["bind_already_bound"] == 1)
    await asyncio.sleep(0.1)
    assert len(api.bind_calls) == 1
    assert "Pod/default/p" not in loop.snapshot.workloads.index


async def test_preemption_deletes_victims_nominates_and_then_binds(running: Running) -> None:
    api, loop = running
    await api.put(make_node("a").cpu("1").build())
    await api.put(make_pod("low").requests(cpu="1").priority(1).bound_to("a").build())
    await api.put(make_pod("vip").requests(cpu="1").priority(100).build())
    await until(lambda: node_of(api, "vip") == "a")
    assert [call for call in api.calls if call[0] == "delete"] == [("delete", "Pod", "low")]
    assert any(kinds.unwrap(u).status.nominated_node_name == "a" for u in api.status_updates)
    await loop.drain_reports()
    preempted = [r for r in api.event_reasons() if r[0] == "Preempted"]
    assert preempted == [("Preempted", "low", "Preempted by pod default/vip (priority 100) on node a")]


async def test_an_invalid_workload_gets_a_warning_and_no_binding(running: Running) -> None:
    api, _ = running
    await api.put(make_node("a").build())
    await api.put(make_pod("bad").requests(cpu="lots").build())
    await until(lambda: bool(api.events))
    reason, name, message = api.event_reasons()[0]
    assert (reason, name) == ("FailedScheduling", "bad")
    assert "spec.containers[0].resources: invalid quantity 'lots'" in message
    assert api.bind_calls == []


async def test_a_vm_unbound_after_binding_releases_its_node_and_is_placed_again(running: Running) -> None:
    api, loop = running
    await api.put(make_node("a").hypervisor("type1").cpu("2").build())
    await api.put(make_node("b").hypervisor("type1").cpu("2").build())
    await api.put(make_vm("filler").vcpus(2).bound_to("b").build())
    bound = make_vm("db").vcpus(2).bound_to("a").build()
    await api.put(bound)
    await until(lambda: "VirtualMachine/default/db" in loop.snapshot.workloads.index)
    bound.spec.node_name = ""  # evicted: its run on a ended and the VM was unbound (same object)
    await api.put(bound)
    # Only a's room, which db itself held until now, fits it.
    await until(lambda: node_of(api, "db", "VirtualMachine") == "a")
    assert loop.stats["bind_ok"] == 1


async def test_a_bound_workloads_status_writes_are_not_decoded_again(running: Running) -> None:
    """Same generation, node and labels: the snapshot keeps what it holds. A label change or a new
    generation (a spec change) is decoded and replaces it."""
    api, loop = running
    key = "Pod/default/web"
    await api.put(make_node("a").build())

    def pod(generation: int, cpu: str = "1", **labels: str) -> object:
        built = make_pod("web").labels(**labels).requests(cpu=cpu).bound_to("a").build()
        built.metadata.generation = generation
        return built

    await api.put(pod(1))
    await until(lambda: loop.snapshot.workload(key) is not None)
    held = loop.snapshot.workload(key)
    running_pod = pod(1)
    running_pod.status.phase = "Running"  # type: ignore[attr-defined]
    await api.put(running_pod)
    await api.put(make_node("b").build())  # informers deliver in order: once b is known, so is the write
    await until(lambda: "b" in loop.snapshot.nodes.index)
    assert loop.snapshot.workload(key) is held

    await api.put(pod(1, tier="web"))
    await until(lambda: dict((loop.snapshot.workload(key) or held).labels) == {"tier": "web"})
    await api.put(pod(2, cpu="2", tier="web"))
    await until(lambda: (loop.snapshot.workload(key) or held).cpu_millis == 2000)
    assert int(loop.snapshot.nodes.used_cpu[loop.snapshot.nodes.index["a"]]) == 2000
