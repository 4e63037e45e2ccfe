"""The Docker Swarm benchmark's own rules, without docker: its flags, its skip, and the sweep
that removes what a run killed with SIGKILL left behind (tests/bench/swarm.py,
tests/bench/private_dockerd.py)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench import private_dockerd, swarm


@pytest.mark.parametrize(("text", "sizes"), [("10,30,100", [10, 30, 100]), ("3", [3])])
def test_sizes_are_comma_separated_counts(text: str, sizes: list[int]) -> None:
    assert swarm.options().parse_args(["--sizes", text]).sizes == sizes


@pytest.mark.parametrize("text", ["ten", "10,,30", "0", "10,-1"])
def test_a_bad_size_is_refused_with_the_flag_named(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="--sizes"):
        swarm._sizes(text)


def test_without_dockerd_the_benchmark_says_why_it_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None if name == "dockerd" else f"/bin/{name}")
    assert private_dockerd.why_unavailable() == "dockerd not found (apt-get install docker.io)"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_sweep_removes_a_dead_runs_scratch_and_keeps_a_live_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    dead, alive = tmp_path / f"{private_dockerd.SCRATCH_PREFIX}dead", tmp_path / f"{private_dockerd.SCRATCH_PREFIX}live"
    for scratch, owner in ((dead, _dead_pid()), (alive, os.getpid())):
        (scratch / "data").mkdir(parents=True)
        (scratch / private_dockerd.OWNER_FILE).write_text(str(owner))
    private_dockerd.sweep_stale()
    assert not dead.exists()
    assert (alive / "data").is_dir()
