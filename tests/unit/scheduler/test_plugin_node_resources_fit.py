"""NodeResourcesFit: cpu, memory, pods, ephemeral storage, VM and utility-VM overhead."""

from __future__ import annotations

import pytest

from scheduler.overhead import DEFAULT_UTILITY_VM_MEMORY
from tests.unit.scheduler.builders import NodeBuilder, PodBuilder, VmBuilder, make_node, make_pod, make_vm
from tests.unit.scheduler.harness import Harness, assert_single_node_decision

HV = make_node("hv").hypervisor("type1", overhead="512Mi").memory("4Gi").cpu("4")


@pytest.mark.parametrize(
    ("node", "workload", "placed", "message"),
    [
        pytest.param(
            make_node().cpu("1"), make_pod().requests(cpu="1"), True, "", id="a request equal to allocatable cpu fits"
        ),
        pytest.param(
            make_node().cpu("1"),
            make_pod().requests(cpu="1001m"),
            False,
            "1 insufficient cpu",
            id="one millicore too many does not fit",
        ),
        pytest.param(
            make_node().memory("1Gi"),
            make_pod().requests(memory="2Gi"),
            False,
            "1 insufficient memory",
            id="too much memory does not fit",
        ),
        pytest.param(
            make_node().cpu("1").memory("1Gi"),
            make_pod().requests(cpu="2", memory="2Gi"),
            False,
            "1 insufficient cpu, 1 insufficient memory",
            id="every shortage of one node is reported",
        ),
        pytest.param(make_node().pods(0), make_pod(), False, "1 too many pods", id="a node with no pod slots is full"),
        pytest.param(
            make_node().ephemeral("1Gi"),
            make_pod().requests(ephemeral="2Gi"),
            False,
            "1 insufficient ephemeral-storage",
            id="too much ephemeral storage does not fit",
        ),
        pytest.param(
            HV,
            make_vm().vcpus(4).memory("3584Mi"),
            True,
            "",
            id="a VM fits when its memory plus the per-VM overhead fits",
        ),
        pytest.param(
            HV,
            make_vm().vcpus(4).memory("3585Mi"),
            False,
            "1 insufficient memory",
            id="the hypervisor per-VM overhead counts against a VM",
        ),
        pytest.param(HV, make_vm().vcpus(5), False, "1 insufficient cpu", id="a VM asks for its vcpus"),
        pytest.param(
            make_node().windows("10.0.20348").isolation("hyperv").memory("1Gi"),
            make_pod().windows("hyperv", "10.0.20348").requests(memory="512Mi"),
            True,
            "",
            id="a hyperv pod fits when it and the default utility VM overhead fit",
        ),
        pytest.param(
            make_node().windows("10.0.20348").isolation("hyperv").memory("1Gi"),
            make_pod().windows("hyperv", "10.0.20348").requests(memory="513Mi"),
            False,
            "1 insufficient memory",
            id="the utility VM overhead counts against a hyperv pod",
        ),
        pytest.param(
            make_node().windows("10.0.20348").isolation("process").memory("1Gi"),
            make_pod().windows("process", "10.0.20348").requests(memory="1Gi"),
            True,
            "",
            id="a process-isolated pod pays no utility VM",
        ),
    ],
)
def test_fit(node: NodeBuilder, workload: PodBuilder | VmBuilder, placed: bool, message: str) -> None:
    assert_single_node_decision(node, workload, placed, message)


def test_default_utility_vm_overhead_is_the_documented_constant() -> None:
    assert DEFAULT_UTILITY_VM_MEMORY == 512 * 2**20


def test_allocation_of_bound_workloads_counts() -> None:
    harness = Harness(make_node("a").cpu("1"))
    harness.bind(make_pod("running").requests(cpu="600m"), "a")
    decision = harness.decide(make_pod("new").requests(cpu="500m"))
    assert not decision.placed


def test_assumed_placements_are_seen_by_the_next_decision() -> None:
    harness = Harness(make_node("a").cpu("1"), make_node("b").cpu("1"))
    first = harness.place(make_pod("p1").requests(cpu="800m"))
    second = harness.place(make_pod("p2").requests(cpu="800m"))
    third = harness.place(make_pod("p3").requests(cpu="800m"))
    assert {getattr(first, "node", None), getattr(second, "node", None)} == {"a", "b"}
    assert not hasattr(third, "node")
