"""``atoll-agent`` command-line mistakes are one line on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.main import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--server", "127.0.0.1:1", "--driver", "sim-beos"], "unknown driver 'sim-beos'; known drivers:",
                     id="an unknown driver is named with the known ones"),
        pytest.param(["hollow", "--server", "127.0.0.1:1", "--fleet", "/nonexistent/fleet.yaml"],
                     "/nonexistent/fleet.yaml: cannot read the fleet file", id="a missing fleet file is named"),
        pytest.param(["--server", "127.0.0.1:1", "--extended-resource", "nvidia.com/gpu=0.5"],
                     "--extended-resource 'nvidia.com/gpu=0.5': must be a whole number",
                     id="a fraction of an extended resource is refused before connecting"),
        pytest.param(["--server", "127.0.0.1:1", "--real", "--driver", "sim-beos"], "unknown driver 'sim-beos'",
                     id="a real node's extra simulated driver is checked before anything starts"),
        pytest.param(["--server", "127.0.0.1:1", "--extended-resource", "nvidia.com/gpu"],
                     "expected NAME=COUNT", id="an extended resource without a count is refused"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_hollow_needs_a_fleet_or_a_node_count(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["hollow", "--server", "127.0.0.1:1"])
    assert exit_.value.code == 2
    assert "one of the arguments --fleet --nodes is required" in capsys.readouterr().err
