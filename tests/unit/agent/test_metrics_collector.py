"""agent.metrics.NodeCollector: per-node capacity and allocation, workloads by kind and phase,
crash-looping workloads and VMs in transition, computed from samplers at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from agent.metrics import NodeCollector, NodeSample, WorkloadSample


def workload(name: str, kind: str = "Pod", phase: str = "Running", **changes: object) -> WorkloadSample:
    fields: dict[str, object] = dict(kind=kind, namespace="default", name=name, phase=phase, phase_since=100.0,
                                     crash_looping=False, active=True, cpu_millis=250, memory_bytes=2**20)
    fields.update(changes)
    return WorkloadSample(**fields)  # type: ignore[arg-type]


def exposition(*samples: NodeSample | Exception) -> str:
    collector = NodeCollector()
    for index, sample in enumerate(samples):
        def sampler(sample: NodeSample | Exception = sample) -> NodeSample:
            if isinstance(sample, Exception):
                raise sample
            return sample
        collector.add(f"n{index}", sampler)
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_allocation_counts_only_active_workloads_and_phases_are_summed_over_nodes() -> None:
    text = exposition(
        NodeSample("a", (4000, 8 * 2**30, 110), (3900, 7 * 2**30, 110),
                   (workload("w1"), workload("w2"), workload("done", phase="Succeeded", active=False))),
        NodeSample("b", (2000, 2**30, 10), (2000, 2**30, 10), (workload("w3"),)),
    )
    assert 'atoll_agent_node_cpu_capacity_cores{node="a"} 4.0' in text
    assert 'atoll_agent_node_cpu_allocatable_cores{node="a"} 3.9' in text
    assert 'atoll_agent_node_cpu_allocated_cores{node="a"} 0.5' in text
    assert 'atoll_agent_node_pods_allocated{node="a"} 2.0' in text
    assert 'atoll_agent_node_memory_allocated_bytes{node="b"} 1.048576e+06' in text
    assert 'atoll_agent_workloads{kind="Pod",phase="Running"} 3.0' in text
    assert 'atoll_agent_workloads{kind="Pod",phase="Succeeded"} 1.0' in text


def test_crash_looping_workloads_and_vms_in_transition_have_their_own_series() -> None:
    text = exposition(NodeSample("a", (0, 0, 0), (0, 0, 0), (
        workload("flaky", crash_looping=True),
        workload("db", kind="VirtualMachine", phase="Starting", phase_since=1234.5),
        workload("ok", kind="VirtualMachine", phase="Running"),
    )))
    assert 'atoll_agent_crash_looping{kind="Pod",name="flaky",namespace="default",node="a"} 1.0' in text
    assert ('atoll_agent_vm_transition_started_timestamp_seconds{name="db",namespace="default",node="a",'
            'phase="Starting"} 1234.5') in text
    assert 'name="ok"' not in text


def test_a_failing_sampler_is_skipped_and_the_others_are_served() -> None:
    text = exposition(RuntimeError("dictionary changed size during iteration"),
                      NodeSample("b", (1000, 0, 1), (1000, 0, 1)))
    assert 'atoll_agent_node_cpu_capacity_cores{node="b"} 1.0' in text
    assert "# TYPE atoll_agent_workloads gauge" in text
