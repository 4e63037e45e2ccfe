"""The one toleration rule (atoll.tolerations), as the scheduler and the node lifecycle
controller both apply it: matching, and how long a NoExecute taint lets a workload stay."""

from __future__ import annotations

import pytest

from atoll.tolerations import eviction_delay, tolerates
from atoll.v1 import scheduling_pb2
from scheduler.node_facts import Taint
from scheduler.workload import Toleration

GPU = scheduling_pb2.Taint(key="gpu", value="true", effect="NoSchedule")


def toleration(key: str = "", operator: str = "", value: str = "", effect: str = "", seconds: int | None = None
               ) -> scheduling_pb2.Toleration:
    made = scheduling_pb2.Toleration(key=key, operator=operator, value=value, effect=effect)
    if seconds is not None:
        made.toleration_seconds = seconds
    return made


@pytest.mark.parametrize(
    ("given", "matches"),
    [
        pytest.param(toleration("gpu", value="true"), True, id="the default operator Equal with the same value"),
        pytest.param(toleration("gpu", "Equal", "false"), False, id="Equal with another value"),
        pytest.param(toleration("gpu", "Exists"), True, id="Exists ignores the value"),
        pytest.param(toleration("other", "Exists"), False, id="another key"),
        pytest.param(toleration("", "Exists"), True, id="an empty key with Exists matches every taint"),
        pytest.param(toleration("", "Equal"), False, id="an empty key with Equal matches nothing"),
        pytest.param(toleration("gpu", "Exists", effect="NoSchedule"), True, id="the same effect"),
        pytest.param(toleration("gpu", "Exists", effect="NoExecute"), False, id="another effect"),
        pytest.param(toleration("gpu", "Exists", effect=""), True, id="an empty effect matches every effect"),
    ],
)
def test_toleration_matching(given: scheduling_pb2.Toleration, matches: bool) -> None:
    assert tolerates(given, GPU) is matches
    decoded = Toleration(given.key, given.operator or "Equal", given.value, given.effect)  # the scheduler's copy
    assert tolerates(decoded, Taint(GPU.key, GPU.value, GPU.effect)) is matches


UNREACHABLE = scheduling_pb2.Taint(key="node.atoll.dev/unreachable", effect="NoExecute")


@pytest.mark.parametrize(
    ("tolerations", "delay"),
    [
        pytest.param([], 300.0, id="no matching toleration waits the default"),
        pytest.param([toleration("other", "Exists")], 300.0, id="a toleration for another taint does not count"),
        pytest.param([toleration(UNREACHABLE.key, "Exists")], None, id="a match without seconds stays forever"),
        pytest.param(
            [toleration(UNREACHABLE.key, "Exists", seconds=60), toleration("", "Exists", seconds=20)],
            20.0,
            id="the smallest seconds among the matches",
        ),
        pytest.param([toleration(UNREACHABLE.key, "Exists", seconds=-5)], 0.0, id="negative seconds count as zero"),
    ],
)
def test_eviction_delay(tolerations: list[scheduling_pb2.Toleration], delay: float | None) -> None:
    assert eviction_delay(tolerations, UNREACHABLE, default_seconds=300.0) == delay
