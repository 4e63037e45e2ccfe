"""`atoll logs` on `atoll up`'s simulated fleet with the real CLI: --previous of a container that
crashed and restarted (one clear line for one that never did), --timestamps, a bad --since; the
previous log survives kill -9 of `atoll up` and its restart on the same data directory."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

from tests.integration.test_cli_e2e import atoll
from tests.support.eventually import until
from tests.support.up_process import UpProcess, start_up

PODS = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: crashy, annotations: {sim.atoll.dev/script: "echo run; sleep 1; exit 1"}}
spec: {restartPolicy: Always, containers: [{name: main, image: busybox}]}
---
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: steady}
spec: {containers: [{name: main, image: busybox}]}
"""
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


def _restarts(up: UpProcess) -> int:
    pod = json.loads(atoll(up, "get", "pod", "crashy", "-o", "json").stdout)
    statuses = pod.get("status", {}).get("containerStatuses", [])
    return int(statuses[0].get("restartCount", 0)) if statuses else 0


def _previous_shows_a_crashed_run(up: UpProcess) -> bool:
    done = atoll(up, "logs", "crashy", "--previous")
    return done.returncode == 0 and done.stdout.splitlines()[-1:] == ["exited: code 1 (Error)"]


def test_previous_logs_and_stamps_on_the_simulated_fleet_across_a_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    up = start_up(data_dir, "--sim-nodes", "1")
    try:
        assert atoll(up, "apply", "-f", "-", stdin=PODS).returncode == 0
        until(lambda: _restarts(up) >= 1, timeout=60, what="crashy restarted")
        for _ in range(2):  # the same answer the second time
            assert _previous_shows_a_crashed_run(up)
            never = atoll(up, "logs", "pod/steady", "--previous")
            assert never.returncode == 1
            assert never.stderr.strip().splitlines() == [
                'Error from server (NotFound): previous terminated container "main" in pod "default/steady" not found']
        stamped = atoll(up, "logs", "crashy", "--previous", "--timestamps").stdout.splitlines()
        assert stamped and all(STAMPED.match(line) for line in stamped), stamped
        bad = atoll(up, "logs", "crashy", "--since", "5x")
        assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1 and "5x" in bad.stderr
        up.kill(signal.SIGKILL)
        up = start_up(data_dir, "--sim-nodes", "1")
        until(lambda: _previous_shows_a_crashed_run(up), timeout=60,
              what="the previous log after the restart")
    finally:
        up.kill(signal.SIGTERM)
