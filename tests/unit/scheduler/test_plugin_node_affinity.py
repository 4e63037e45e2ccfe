"""NodeAffinity: nodeSelector, required terms (ORed) with every operator, preferred terms."""

from __future__ import annotations

import pytest

from tests.unit.scheduler.builders import PodBuilder, make_node, make_pod
from tests.unit.scheduler.harness import Harness

NODES = (
    make_node("a").labels(zone="a", disk="ssd", cores="8"),
    make_node("b").labels(zone="b", cores="32"),
    make_node("c").labels(zone="c", disk="hdd"),
)


@pytest.mark.parametrize(
    ("pod", "allowed"),
    [
        pytest.param(make_pod(), {"a", "b", "c"}, id="no constraint allows every node"),
        pytest.param(make_pod().node_selector(zone="b"), {"b"}, id="nodeSelector picks the matching node"),
        pytest.param(make_pod().node_selector(zone="b", disk="ssd"), set(), id="nodeSelector keys are ANDed"),
        pytest.param(make_pod().require("zone", "In", "a", "c"), {"a", "c"}, id="In matches any listed value"),
        pytest.param(make_pod().require("zone", "NotIn", "a"), {"b", "c"}, id="NotIn excludes listed values"),
        pytest.param(
            make_pod().require("disk", "NotIn", "hdd"), {"a", "b"}, id="NotIn matches nodes without the label"
        ),
        pytest.param(make_pod().require("disk", "Exists"), {"a", "c"}, id="Exists needs the key"),
        pytest.param(make_pod().require("disk", "DoesNotExist"), {"b"}, id="DoesNotExist needs the key absent"),
        pytest.param(make_pod().require("cores", "Gt", "8"), {"b"}, id="Gt compares integers"),
        pytest.param(make_pod().require("cores", "Lt", "32"), {"a"}, id="Lt compares integers and skips absent"),
        pytest.param(
            make_pod().require("zone", "In", "a").require("cores", "Gt", "16"),
            set(),
            id="requirements inside one term are ANDed",
        ),
        pytest.param(
            make_pod().require("zone", "In", "a").require("cores", "Gt", "16", term=1), {"a", "b"}, id="terms are ORed"
        ),
        pytest.param(make_pod().require("gpu", "In", "yes"), set(), id="an unknown label key matches nothing"),
    ],
)
def test_required_node_affinity(pod: PodBuilder, allowed: set[str]) -> None:
    harness = Harness(*NODES)
    for name in ("a", "b", "c"):
        only = Harness(*(n for n in NODES if n.node.metadata.name == name))
        assert only.decide(pod).placed is (name in allowed), name
    decision = harness.decide(pod)
    assert (decision.node in allowed) if allowed else not decision.placed


def test_explanation_distinguishes_selector_and_affinity() -> None:
    # a: affinity fails; b: both fail (counted under both); c: selector fails.
    decision = Harness(*NODES).decide(make_pod().node_selector(zone="a").require("disk", "In", "hdd"))
    assert decision.explanation is not None
    assert decision.explanation.message() == (
        "0/3 nodes are available: 2 node(s) didn't match node affinity, 2 node(s) didn't match node selector."
    )


@pytest.mark.parametrize(
    ("pod", "best"),
    [
        pytest.param(make_pod().prefer(10, "zone", "In", "c"), "c", id="the preferred zone wins"),
        pytest.param(
            make_pod().prefer(10, "zone", "In", "c").prefer(50, "cores", "Gt", "16"),
            "b",
            id="the heavier preference wins",
        ),
    ],
)
def test_preferred_terms_score(pod: PodBuilder, best: str) -> None:
    assert Harness(*NODES).decide(pod).node == best
