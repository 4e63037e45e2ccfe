"""NodeReady and NodeUnschedulable: not-ready and cordoned nodes take nothing new."""

from __future__ import annotations

import pytest

from tests.unit.scheduler.builders import NodeBuilder, PodBuilder, make_node, make_pod
from tests.unit.scheduler.harness import assert_single_node_decision


@pytest.mark.parametrize(
    ("node", "pod", "placed", "reason"),
    [
        pytest.param(make_node(), make_pod(), True, "", id="a ready schedulable node takes the pod"),
        pytest.param(
            make_node().not_ready(), make_pod(), False, "1 node(s) were not ready", id="a not-ready node is refused"
        ),
        pytest.param(
            make_node().cordoned(), make_pod(), False, "1 node(s) were unschedulable", id="a cordoned node is refused"
        ),
        pytest.param(
            make_node().cordoned(),
            make_pod().tolerate("node.kubernetes.io/unschedulable", effect="NoSchedule", operator="Exists"),
            True,
            "",
            id="a pod tolerating the unschedulable taint may use a cordoned node",
        ),
    ],
)
def test_node_state(node: NodeBuilder, pod: PodBuilder, placed: bool, reason: str) -> None:
    assert_single_node_decision(node, pod, placed, reason)
