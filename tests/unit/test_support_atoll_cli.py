"""tests/support/atoll_cli.py: a test outwaits the command's own --timeout, so a slow run fails
with the command's message rather than TimeoutExpired."""

from __future__ import annotations

import pytest

from tests.support.atoll_cli import DEFAULT_LIMIT, MARGIN, wall_limit


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(("get", "pods"), DEFAULT_LIMIT, id="no own timeout: the default"),
        pytest.param(("node", "drain", "n1", "--timeout", "120"), 120 + MARGIN, id="long: plus the margin"),
        pytest.param(("wait", "--timeout=2m", "pod/x"), 120 + MARGIN, id="the = form and a duration"),
        pytest.param(("vm", "migrate", "x", "--timeout", "5"), DEFAULT_LIMIT, id="a short own timeout: the default"),
        pytest.param(("delete", "vm", "--all", "--timeout", "0"), DEFAULT_LIMIT, id="zero, never give up: the default"),
        pytest.param(("wait", "--timeout", "soon"), DEFAULT_LIMIT, id="not a duration: the default"),
        pytest.param(("wait", "--timeout", "10", "--timeout", "200"), 200 + MARGIN, id="the last one given wins"),
    ],
)
def test_the_wall_limit_outlives_the_commands_own_timeout(args: tuple[str, ...], expected: float) -> None:
    assert wall_limit(args) == expected
