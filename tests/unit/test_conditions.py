"""The scheduling condition's type per workload kind (atoll.conditions), one rule for the
scheduler (False: why not placed) and the API server's Bind (True)."""

from __future__ import annotations

import pytest

from atoll.conditions import scheduled_condition_type


@pytest.mark.parametrize(
    ("kind", "condition"),
    [
        pytest.param("Pod", "PodScheduled", id="a Pod has Kubernetes' PodScheduled"),
        pytest.param("VirtualMachine", "Scheduled", id="a VirtualMachine has Scheduled"),
    ],
)
def test_scheduled_condition_type(kind: str, condition: str) -> None:
    assert scheduled_condition_type(kind) == condition
