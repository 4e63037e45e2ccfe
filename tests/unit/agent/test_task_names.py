"""The one rule for a task id as a host name (runtime container id, task directory)."""

from __future__ import annotations

import pytest

from agent.drivers.task_names import host_name_for


@pytest.mark.parametrize(
    ("task_id", "expected"),
    [
        pytest.param("6f1c:web", "6f1c.web", id="uid and container joined by a dot"),
        pytest.param("u1:a/b c", "u1.a_b_c", id="slashes and spaces become underscores"),
        pytest.param("..", "_..", id="dot-dot never names a directory outside the state dir"),
        pytest.param(".", "_.", id="a single dot never names the state dir itself"),
        pytest.param(":", "_.", id="a lone colon would become a single dot"),
        pytest.param("", "_", id="an empty id still names something"),
    ],
)
def test_a_task_id_becomes_a_name_that_stays_inside_its_directory(task_id: str, expected: str) -> None:
    assert host_name_for(task_id) == expected
