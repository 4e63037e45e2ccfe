"""`scripts/quickstart` twice in a row on the state the first run left: after Ctrl-C, and after
`atoll up` was killed with kill -9. Each run must bring every sample workload to Running and stop
cleanly on Ctrl-C (SIGINT to its process group, as a terminal sends it)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.etcd_server import free_loopback_port

ROOT = Path(__file__).resolve().parents[2]
READY = "the control plane keeps running"
RUN_SECONDS = 180.0
_UP_PID = re.compile(r"atoll control plane is up \(pid (\d+)\)")


class Quickstart:
    """One run of scripts/quickstart in its own process group, its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([str(ROOT / "scripts" / "quickstart")], cwd=ROOT, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.output: list[str] = []

    def until_ready(self) -> None:
        """Reads until the script says the control plane keeps running; fails when it ends first."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + RUN_SECONDS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if READY in line:
                return
        self.process.kill()
        raise AssertionError("the quick start did not get ready:\n" + "".join(self.output[-40:]))

    def up_pid(self) -> int:
        found = next((m for line in self.output if (m := _UP_PID.search(line))), None)
        assert found is not None, "atoll up printed no pid"
        return int(found.group(1))

    def ctrl_c(self) -> int:
        """SIGINT to the whole process group; the script's exit status."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.finish()

    def finish(self) -> int:
        out, _ = self.process.communicate(timeout=60)
        self.output.append(out)
        return self.process.wait()

    def text(self) -> str:
        return "".join(self.output)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The quick start on a data dir, client config and port of the test's own."""
    env = {k: v for k, v in os.environ.items() if k != "ATOLL_SERVER"}
    env.update(ATOLL_DATA_DIR=str(tmp_path / "data"), ATOLL_CONFIG=str(tmp_path / "config.yaml"),
               ATOLL_LISTEN=f"127.0.0.1:{free_loopback_port()}")
    return env


def _running_samples(run: Quickstart) -> None:
    text = run.text()
    assert "Traceback" not in text, text
    for sample in ("cache", "iis", "legacy-app", "tiny"):
        assert re.search(rf"^.*\b{sample}\b.*\bRunning\b", text, re.M), f"{sample} is not Running:\n{text}"


@pytest.mark.parametrize("stop", ["ctrl-c", "kill-9"])
def test_quickstart_runs_again_on_the_state_it_left(env: dict[str, str], stop: str) -> None:
    first = Quickstart(env)
    first.until_ready()
    _running_samples(first)
    if stop == "ctrl-c":
        assert first.ctrl_c() == 0, first.text()[-3000:]
    else:
        os.kill(first.up_pid(), signal.SIGKILL)
        assert first.finish() == 128 + signal.SIGKILL, "the script reports how atoll up ended"
    second = Quickstart(env)
    second.until_ready()
    _running_samples(second)
    assert second.ctrl_c() == 0, second.text()[-3000:]
    assert "atoll up: stopping" in second.text()
