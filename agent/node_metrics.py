"""One node's metrics sample (agent.metrics.NodeSample) from its registered Node and its runners.

Read-only and cheap: it runs on the metrics server's thread at every scrape, over a snapshot of
the runners (their ``latest`` messages are replaced, never changed in place).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.metrics import NodeSample, WorkloadSample
from agent.workloads.pod_runner import PodRunner
from agent.workloads.vm_runner import VmRunner
from agent.workloads.workload_runner import WorkloadRunner
from atoll.quantity import QuantityError, parse_quantity
from atoll.v1 import node_pb2

# Phases in which a workload holds no node resources.
_FINISHED = frozenset({"Succeeded", "Failed", "Stopped"})
_CRASH_LOOP = "CrashLoopBackOff"


def sample_node(node: node_pb2.Node | None, runners: Sequence[WorkloadRunner]) -> NodeSample | None:
    """The sample of ``node`` (None before it registered) with one entry per runner."""
    if node is None:
        return None
    status = node.status
    return NodeSample(
        node=node.metadata.name,
        capacity=_resources(status.capacity),
        allocatable=_resources(status.allocatable),
        workloads=tuple(sample for sample in map(_workload, runners) if sample is not None),
    )


def _workload(runner: WorkloadRunner) -> WorkloadSample | None:
    meta, status = runner.latest.metadata, runner.latest.status
    phase = status.phase or "Pending"
    if isinstance(runner, PodRunner):
        configs = list(runner.configs.values())
        crash_looping = any(
            record.waiting[0] == _CRASH_LOOP and not record.task_alive and not record.final
            for record in runner.records
        )
    elif isinstance(runner, VmRunner):
        configs = [runner.config]
        crash_looping = status.reason == _CRASH_LOOP and not runner.task_alive
    else:
        return None
    return WorkloadSample(
        kind=runner.kind,
        namespace=meta.namespace,
        name=meta.name,
        phase=phase,
        phase_since=runner.phase_since,
        crash_looping=crash_looping,
        active=phase not in _FINISHED and not runner.done.is_set(),
        cpu_millis=sum(config.resources.cpu_millis for config in configs),
        memory_bytes=sum(config.resources.memory_request for config in configs),
    )


def _resources(values: Mapping[str, str]) -> tuple[int, int, int]:
    return _amount(values, "cpu", 1000), _amount(values, "memory", 1), _amount(values, "pods", 1)


def _amount(values: Mapping[str, str], name: str, scale: int) -> int:
    try:
        return int(parse_quantity(values.get(name, "0")) * scale)
    except QuantityError:
        return 0
