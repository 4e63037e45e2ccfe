"""Extended resources (nvidia.com/gpu): whole units fitted against each node's allocatable count,
never overcommitted, counted per name in the explanation, freed by preemption."""

from __future__ import annotations

import pytest
import yaml

from scheduler.core import Placement, Unschedulable
from scheduler.workload import WorkloadError
from tests.unit.scheduler.builders import NodeBuilder, PodBuilder, make_node, make_pod
from tests.unit.scheduler.fleet import node_builders, workload_builders
from tests.unit.scheduler.harness import Harness, assert_single_node_decision
from tests.unit.scheduler.test_mixed_fleet import CASES, scaled

GPU = "nvidia.com/gpu"


@pytest.mark.parametrize(
    ("node", "pod", "placed", "reasons"),
    [
        pytest.param(make_node().offers(GPU, "2"), make_pod().extended(GPU, "2"), True, "", id="all units fit"),
        pytest.param(
            make_node().offers(GPU, "2"),
            make_pod().extended(GPU, "3"),
            False,
            "1 insufficient nvidia.com/gpu",
            id="one unit more than the node offers does not fit",
        ),
        pytest.param(
            make_node(),
            make_pod().extended(GPU, "1"),
            False,
            "1 insufficient nvidia.com/gpu",
            id="a node without the resource is refused",
        ),
        pytest.param(
            make_node().offers("example.com/dongle", "1"),
            make_pod().extended(GPU, "1"),
            False,
            "1 insufficient nvidia.com/gpu",
            id="another extended resource does not stand in",
        ),
        pytest.param(
            make_node().offers(GPU, "1"),
            make_pod().extended(GPU, "2", limit=True),
            False,
            "1 insufficient nvidia.com/gpu",
            id="a limit alone is the request",
        ),
        pytest.param(
            make_node().offers(GPU, "2"),
            make_pod().extended(GPU, "1").extended(GPU, "1", container=1),
            True,
            "",
            id="the containers' requests add up to what the node offers",
        ),
        pytest.param(
            make_node().offers(GPU, "2"),
            make_pod().extended(GPU, "2").extended(GPU, "1", container=1),
            False,
            "1 insufficient nvidia.com/gpu",
            id="the containers' requests add up past what the node offers",
        ),
        pytest.param(
            make_node().cpu("1"),
            make_pod().requests(cpu="2").extended(GPU, "1"),
            False,
            "1 insufficient cpu, 1 insufficient nvidia.com/gpu",
            id="every shortage is named, extended ones too",
        ),
        pytest.param(
            make_node().offers(GPU, "4"), make_pod(), True, "", id="a pod asking for none still fits a GPU node"
        ),
    ],
)
def test_fit(node: NodeBuilder, pod: PodBuilder, placed: bool, reasons: str) -> None:
    assert_single_node_decision(node, pod, placed, reasons)


def test_units_held_by_bound_and_assumed_pods_are_never_overcommitted() -> None:
    harness = Harness(make_node("gpu").offers(GPU, "2"))
    harness.bind(make_pod("running").extended(GPU, "1"), "gpu")
    first = harness.place(make_pod("first").extended(GPU, "1"))
    second = harness.place(make_pod("second").extended(GPU, "1"))
    assert isinstance(first, Placement) and first.node == "gpu"
    assert isinstance(second, Unschedulable)
    assert second.message == "0/1 nodes are available: 1 insufficient nvidia.com/gpu."
    harness.snapshot.remove_workload("Pod/default/running")
    assert harness.decide(make_pod("third").extended(GPU, "1")).node == "gpu"


def test_a_fleet_without_the_resource_explains_every_node_and_preempts_nothing() -> None:
    harness = Harness(make_node("a"), make_node("b"), make_node("c"))
    harness.bind(make_pod("low").priority(0), "a")
    outcome = harness.place(make_pod("gpu").extended(GPU, "1").priority(100))
    assert isinstance(outcome, Unschedulable)
    assert outcome.message == "0/3 nodes are available: 3 insufficient nvidia.com/gpu."
    assert outcome.preemption is None


def test_only_the_node_offering_the_resource_is_chosen_among_many() -> None:
    nodes = [make_node(f"n{index:03d}").cpu("64") for index in range(199)]
    harness = Harness(*nodes, make_node("gpu").offers(GPU, "1"))  # grows the columns past 64 slots
    assert harness.decide(make_pod("p").extended(GPU, "1")).node == "gpu"


def test_a_node_that_stops_offering_the_resource_no_longer_fits() -> None:
    harness = Harness(make_node("a").offers(GPU, "2"))
    harness.add_node(make_node("a"))
    decision = harness.decide(make_pod().extended(GPU, "1"))
    assert not decision.placed


def test_a_removed_node_slot_reused_by_another_node_starts_without_units() -> None:
    harness = Harness(make_node("gpu").offers(GPU, "2"))
    harness.bind(make_pod("holder").extended(GPU, "2"), "gpu")
    harness.snapshot.remove_node("gpu")
    harness.add_node(make_node("plain"))
    assert not harness.decide(make_pod().extended(GPU, "1")).placed


def test_preemption_frees_units_held_by_a_lower_priority_pod() -> None:
    harness = Harness(make_node("gpu").offers(GPU, "1"), make_node("plain"))
    harness.bind(make_pod("low").extended(GPU, "1").priority(1), "gpu")
    harness.bind(make_pod("other").priority(1), "plain")
    outcome = harness.place(make_pod("vip").extended(GPU, "1").priority(10))
    assert isinstance(outcome, Unschedulable) and outcome.preemption is not None
    assert outcome.preemption.node == "gpu"
    assert [victim.name for victim in outcome.preemption.victims] == ["low"]


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        pytest.param("1.5", "must be a whole number", id="a fraction of a unit is refused"),
        pytest.param("500m", "must be a whole number", id="millis of a unit are refused"),
        pytest.param("lots", "invalid quantity", id="text that is no quantity is refused"),
    ],
)
def test_a_request_that_is_not_whole_units_is_an_invalid_workload(quantity: str, message: str) -> None:
    with pytest.raises(WorkloadError) as err:
        make_pod("p").extended(GPU, quantity).info()
    assert str(err.value).startswith("pod default/p: spec.containers[0].resources: nvidia.com/gpu: ")
    assert message in str(err.value)


def test_one_column_per_name_seen_keeps_the_fit_vectorized() -> None:
    harness = Harness(make_node("a").offers(GPU, "2"), make_node("b").offers("example.com/dongle", "1"))
    nodes = harness.snapshot.nodes
    assert set(nodes.extended_alloc) == {GPU, "example.com/dongle"}
    assert nodes.extended_alloc[GPU][nodes.index["a"]] == 2
    assert nodes.extended_alloc[GPU][nodes.index["b"]] == 0


def test_the_benchmark_case_places_every_unit_once_and_explains_the_rest() -> None:
    """tests/bench/scheduler_cases.yaml ExtendedResources, scaled down 25 times: 20 GPU nodes
    with 2 units each, 44 pods asking for one: 40 placed on GPU nodes, 4 wait."""
    case = yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]["ExtendedResources"]
    harness = Harness(*node_builders(scaled(case["nodes"], 25)))
    outcomes = [harness.place(w) for w in workload_builders(scaled(case["workloads"], 25))]
    gpu = [o for o in outcomes if o.workload.extended]
    waiting = [o for o in gpu if isinstance(o, Unschedulable)]
    assert len(gpu) == 44 and len(waiting) == 4
    assert {o.message for o in waiting} == {"0/200 nodes are available: 200 insufficient nvidia.com/gpu."}
    assert all(o.node.startswith("n1-") for o in gpu if isinstance(o, Placement))
    nodes = harness.snapshot.nodes
    assert (nodes.extended_used[GPU] <= nodes.extended_alloc[GPU]).all()
    assert int(nodes.extended_used[GPU].sum()) == 40
