"""Which feasible nodes are scored (kube-scheduler's percentageOfNodesToScore): how many, which
ones in turn, and that small fleets and 100 % score every node exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler.framework.profile import DEFAULT_PROFILE, parse_profile
from scheduler.framework.sampling import ScoreSampler, nodes_to_score
from tests.unit.scheduler.builders import make_node, make_pod
from tests.unit.scheduler.harness import Harness


@pytest.mark.parametrize(
    ("total", "percentage", "expected"),
    [
        pytest.param(50, 0, 50, id="a fleet of 100 nodes or fewer is scored whole"),
        pytest.param(100, 0, 100, id="100 nodes are scored whole"),
        pytest.param(101, 0, 100, id="never fewer than 100 nodes"),
        pytest.param(1000, 0, 420, id="adaptive: 50 - 1000/125 = 42 percent of 1,000"),
        pytest.param(5000, 0, 500, id="adaptive: 10 percent of 5,000"),
        pytest.param(20000, 0, 1000, id="adaptive: at least 5 percent"),
        pytest.param(5000, 30, 1500, id="a set percentage"),
        pytest.param(5000, 1, 100, id="a small set percentage still scores 100"),
        pytest.param(5000, 100, 5000, id="100 percent scores every node"),
    ],
)
def test_nodes_to_score(total: int, percentage: int, expected: int) -> None:
    assert nodes_to_score(total, percentage) == expected


def test_every_feasible_node_is_scored_in_turn() -> None:
    sampler = ScoreSampler()
    feasible = np.arange(0, 2000, 2, dtype=np.int64)  # 1,000 feasible slots of 2,000 nodes
    wanted = nodes_to_score(2000)  # 680
    seen: list[int] = []
    for _ in range(2):
        chosen = sampler.choose(feasible, total_nodes=2000)
        assert chosen.size == wanted
        seen.extend(int(slot) for slot in chosen)
    assert set(seen) == {int(slot) for slot in feasible}, "two samples of 680 cover all 1,000"
    assert seen[1000:] == seen[: 2 * wanted - 1000], "the second wraps around to where the first began"


def test_when_every_feasible_node_fits_in_the_sample_all_are_scored_in_slot_order() -> None:
    sampler = ScoreSampler()
    feasible = np.array([3, 9, 400], dtype=np.int64)
    assert sampler.choose(feasible, total_nodes=5000) is feasible


def test_a_sampled_fleet_still_spreads_evenly() -> None:
    """1,000 equal nodes, 1,000 pods: LeastAllocated over the rotating samples puts one on each."""
    harness = Harness(*(make_node(f"n{index:04d}") for index in range(1000)))
    for index in range(1000):
        harness.place(make_pod(f"p{index}").requests(cpu="100m"))
    assert set(harness.snapshot.nodes.used_pods[:1000].tolist()) == {1}


def test_the_best_node_of_a_small_fleet_is_found_with_and_without_sampling_settings() -> None:
    nodes = [make_node(f"n{index:02d}").cpu("4") for index in range(60)] + [make_node("big").cpu("64")]
    sparse = parse_profile({"plugins": ["NodeResourcesFit", "LeastAllocated"], "percentageOfNodesToScore": 1})
    for profile in (DEFAULT_PROFILE, sparse):
        assert Harness(*nodes, profile=profile).decide(make_pod("p").requests(cpu="1")).node == "big"
