"""LeastAllocated spreads, MostAllocated packs, BalancedAllocation evens out cpu and memory."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler.core import Placement
from scheduler.framework.profile import BINPACK_PROFILE, DEFAULT_PROFILE, Profile
from scheduler.plugins.balanced_allocation import balanced
from scheduler.plugins.least_allocated import least_allocated
from scheduler.plugins.most_allocated import most_allocated
from tests.unit.scheduler.builders import make_node, make_pod
from tests.unit.scheduler.harness import Harness


@pytest.mark.parametrize(
    ("score", "cpu", "mem", "expected"),
    [
        pytest.param(least_allocated, 0.0, 0.0, 100.0, id="least allocated gives an empty node 100"),
        pytest.param(least_allocated, 1.0, 1.0, 0.0, id="least allocated gives a full node 0"),
        pytest.param(least_allocated, 0.5, 0.0, 75.0, id="least allocated averages the resources"),
        pytest.param(most_allocated, 0.5, 0.0, 25.0, id="most allocated averages the resources"),
        pytest.param(most_allocated, 2.0, 2.0, 100.0, id="most allocated is capped at 100"),
        pytest.param(balanced, 0.5, 0.5, 100.0, id="balanced gives equal fractions 100"),
        pytest.param(balanced, 1.0, 0.0, 50.0, id="balanced penalises a lopsided node"),
    ],
)
def test_score_helpers(score: object, cpu: float, mem: float, expected: float) -> None:
    assert callable(score)
    assert float(score(np.array([cpu]), np.array([mem]))[0]) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("profile", "spread"),
    [
        pytest.param(DEFAULT_PROFILE, True, id="the default profile spreads pods over nodes"),
        pytest.param(BINPACK_PROFILE, False, id="the bin-packing profile fills one node first"),
    ],
)
def test_profiles_spread_or_pack(profile: Profile, spread: bool) -> None:
    harness = Harness(make_node("a"), make_node("b"), profile=profile)
    nodes = set()
    for i in range(4):
        outcome = harness.place(make_pod(f"p{i}").requests(cpu="500m", memory="1Gi"))
        assert isinstance(outcome, Placement)
        nodes.add(outcome.node)
    assert (len(nodes) == 2) is spread
