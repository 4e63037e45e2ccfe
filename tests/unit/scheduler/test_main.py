"""The atoll-scheduler command: user mistakes are one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.main import main


def test_a_bad_profile_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("plugins: [{name: Teleport}]\n", encoding="utf-8")
    assert main(["--server", "127.0.0.1:1", "--profile", str(profile)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"atoll-scheduler: {profile}: plugins[0].name: unknown plugin 'Teleport'")
    assert "\n" not in err
