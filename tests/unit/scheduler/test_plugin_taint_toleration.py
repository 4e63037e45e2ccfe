"""TaintToleration: NoSchedule/NoExecute refuse, PreferNoSchedule scores lower, tolerations match."""

from __future__ import annotations

import pytest

from tests.unit.scheduler.builders import NodeBuilder, PodBuilder, make_node, make_pod
from tests.unit.scheduler.harness import Harness

GPU = make_node("gpu").taint("gpu", "true", "NoSchedule")


@pytest.mark.parametrize(
    ("node", "pod", "placed"),
    [
        pytest.param(GPU, make_pod(), False, id="an untolerated NoSchedule taint refuses"),
        pytest.param(
            make_node().taint("maint", "", "NoExecute"), make_pod(), False, id="an untolerated NoExecute taint refuses"
        ),
        pytest.param(
            make_node().taint("spot", "", "PreferNoSchedule"), make_pod(), True, id="PreferNoSchedule never refuses"
        ),
        pytest.param(GPU, make_pod().tolerate("gpu", "true"), True, id="Equal with the same value tolerates"),
        pytest.param(GPU, make_pod().tolerate("gpu", "false"), False, id="Equal with another value does not"),
        pytest.param(GPU, make_pod().tolerate("gpu", operator="Exists"), True, id="Exists tolerates any value"),
        pytest.param(
            GPU, make_pod().tolerate("", operator="Exists"), True, id="an empty key with Exists tolerates all"
        ),
        pytest.param(
            GPU,
            make_pod().tolerate("gpu", "true", effect="NoExecute"),
            False,
            id="a toleration for another effect does not tolerate",
        ),
        pytest.param(
            GPU,
            make_pod().tolerate("gpu", "true", effect="NoSchedule"),
            True,
            id="a toleration for the same effect tolerates",
        ),
    ],
)
def test_taints(node: NodeBuilder, pod: PodBuilder, placed: bool) -> None:
    assert Harness(node).decide(pod).placed is placed


def test_explanation_names_the_taint() -> None:
    decision = Harness(GPU, make_node("plain").cpu("1")).decide(make_pod().requests(cpu="2"))
    assert decision.explanation is not None
    assert decision.explanation.message() == (
        "0/2 nodes are available: 1 insufficient cpu, 1 node(s) had untolerated taint {gpu: true}."
    )


def test_prefer_no_schedule_lowers_the_score() -> None:
    harness = Harness(make_node("spot").taint("spot", "", "PreferNoSchedule"), make_node("steady"))
    assert harness.decide(make_pod()).node == "steady"
