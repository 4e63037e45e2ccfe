"""Benchmarks are hermetic and supervise their children: run with the shortest settings, one
finishes normally although the user's home holds a stale client config (and $ATOLL_CONFIG and
$ATOLL_SERVER point at it), and one whose child is killed fails at once, naming the child's exit
status (timeouts here are generous on purpose: a loaded machine is slow, but not ten minutes)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from atoll.config import CONFIG_ENV, SERVER_ENV

ROOT = Path(__file__).resolve().parents[2]
CASES = {
    "cases": {
        "Tiny": {"nodes": [{"count": 3, "cpu": "4", "memory": "8Gi"}],
                 "workloads": [{"count": 10, "kind": "Pod", "cpu": "100m", "memory": "128Mi"}]},
        # Two of ten pods fit: the benchmark waits for bindings that never come.
        "Stuck": {"nodes": [{"count": 2, "cpu": "1", "memory": "8Gi"}],
                  "workloads": [{"count": 10, "kind": "Pod", "cpu": "1", "memory": "128Mi"}]},
    }
}


@pytest.fixture
def poisoned_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user who ran the quick start on another data dir, since deleted."""
    home = tmp_path / "home"
    config = home / ".config" / "atoll" / "config.yaml"
    config.parent.mkdir(parents=True)
    pki = home / "gone" / "pki"
    config.write_text(yaml.safe_dump({"server": "127.0.0.1:7443", "ca": str(pki / "ca.pem"),
                                      "cert": str(pki / "admin.pem"), "key": str(pki / "admin-key.pem")}))
    return {**os.environ, "HOME": str(home), CONFIG_ENV: str(config), SERVER_ENV: "127.0.0.1:1",
            "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(CASES))
    return path


def bench(cases: Path, case: str) -> list[str]:
    return [sys.executable, "-m", "tests.bench.scheduler", "--config", str(cases), "--case", case, "--mode", "e2e"]


def test_a_benchmark_finishes_normally_with_a_stale_user_config(poisoned_env: dict[str, str], cases: Path) -> None:
    result = subprocess.run(bench(cases, "Tiny"), cwd=ROOT, env=poisoned_env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["results"]["Tiny"]["bound"] == 10
    assert report["calibration"]["echo_calls_per_s"] > 0
    assert report["results"]["Tiny"]["bound_per_echo"] > 0
    assert "calibration: raw grpc.aio echo" in result.stdout


def test_a_benchmark_whose_child_is_killed_fails_at_once_with_its_exit_status(
    poisoned_env: dict[str, str], cases: Path
) -> None:
    process = subprocess.Popen(bench(cases, "Stuck"), cwd=ROOT, env=poisoned_env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen: list[str] = []
    try:
        for line in process.stderr:
            seen.append(line)
            started = re.search(r"bench: started atoll-scheduler \(pid (\d+)\)", line)
            if started:
                pid = int(started.group(1))
                break
        else:
            raise AssertionError("the scheduler never started:\n" + "".join(seen))
        os.kill(pid, signal.SIGKILL)
        _, rest = process.communicate(timeout=120)  # the benchmark's own timeout is 600 s
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1
    assert f"benchmark failed: atoll-scheduler (pid {pid}) was killed by SIGKILL (exit status -9)" in rest, rest
    assert "tests/bench/" not in rest  # no traceback of the benchmark's own (grpc may log its shutdown)
