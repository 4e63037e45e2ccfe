"""`atoll up`'s in-process scheduler and controllers hold the Leases a standalone replica would
campaign for: an `atoll-scheduler` beside it (leader election is its default) waits instead of
scheduling too, and a restarted `atoll up` (kill -9) takes its Leases back at once (its identity is
stable per data dir)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.up_process import start_up


def holders(server: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "allinone", "--server", server, "get", "leases", "-n", "atoll-system",
         "-o", "custom-columns=NAME:.metadata.name,HOLDER:.spec.holderIdentity", "--no-headers"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(line.split() for line in result.stdout.splitlines() if len(line.split()) == 2)


def wait_for_holders(server: str, names: set[str], timeout: float = 60.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        found = holders(server)
        if names <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_standalone_scheduler_waits_beside_atoll_up_and_a_restart_takes_the_leases_back(tmp_path: Path) -> None:
    up = start_up(tmp_path / "data", "--sim-nodes", "0", "--no-metrics")
    standalone = None
    try:
        first = wait_for_holders(up.address, {"atoll-scheduler", "atoll-controller"})
        assert first["atoll-scheduler"].startswith("atoll-up-"), first
        assert first["atoll-controller"] == first["atoll-scheduler"], first
        standalone = subprocess.Popen(
            [str(Path(sys.executable).parent / "atoll-scheduler"), "--server", up.address,
             "--metrics-listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
        )  # fmt: skip
        time.sleep(3)
        assert standalone.poll() is None, "the standalone scheduler did not run"
        assert holders(up.address)["atoll-scheduler"] == first["atoll-scheduler"]
        standalone.kill()  # else it may take the Lease while atoll up restarts on a slow machine
        up.kill()
        up = start_up(tmp_path / "data", "--sim-nodes", "0", "--no-metrics")
        again = wait_for_holders(up.address, {"atoll-scheduler"})
        assert again["atoll-scheduler"] == first["atoll-scheduler"]
    finally:
        if standalone is not None:
            standalone.kill()
            standalone.wait()
        up.kill()
