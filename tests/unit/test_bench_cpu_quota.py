"""--cpu-quota of the benchmarks (tests/bench/cpu_quota.py): the argument's checks, the refusal
where no cgroup v1 cpu controller exists, and the clean-up of quota cgroups a killed run left."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from tests.bench import cpu_quota


@pytest.mark.parametrize("text", ["0", "0.01", "abc", "nan", str((os.cpu_count() or 1) + 1)])
def test_a_quota_outside_the_machine_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected a number of cores from 0\.05 to"):
        cpu_quota.parse_cores(text)


def test_a_quota_within_the_machine_is_a_number_of_cores() -> None:
    assert cpu_quota.parse_cores("0.6") == 0.6


def test_no_quota_changes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cpu_quota, "CPU_CONTROLLER", tmp_path / "absent")
    with cpu_quota.cpu_quota(None):
        pass
    assert not (tmp_path / "absent").exists()


def test_without_a_cpu_controller_the_quota_is_refused_before_anything_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cpu_quota, "CPU_CONTROLLER", tmp_path)
    with pytest.raises(cpu_quota.QuotaUnavailable, match="no cgroup v1 cpu controller"), cpu_quota.cpu_quota(0.5):
        pass
    assert list(tmp_path.iterdir()) == []


def test_empty_quota_cgroups_of_killed_runs_are_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cpu_quota, "CPU_CONTROLLER", tmp_path)
    (tmp_path / f"{cpu_quota.PREFIX}123").mkdir()
    busy = tmp_path / f"{cpu_quota.PREFIX}456"
    busy.mkdir()
    (busy / "tasks").write_text("789\n")  # a plain directory with a file stands for one in use: rmdir fails
    (tmp_path / "other").mkdir()
    cpu_quota.remove_stale()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{cpu_quota.PREFIX}456", "other"]
