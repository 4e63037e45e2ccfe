"""`atoll up --event-ttl`: Events expire through the real process; a bad value is one line."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from atoll.client import Client
from tests.support.eventually import eventually
from tests.support.objects import make_event, make_pod
from tests.support.up_process import start_up


async def test_events_expire_and_workloads_stay(tmp_path: Path) -> None:
    up = start_up(tmp_path, "--event-ttl", "1", "--sim-nodes", "0", "--no-scheduler", "--no-controllers")
    try:
        async with Client.connect(up.address) as client:
            await client.create(make_pod("web"))
            await client.create(make_event("web.1"))

            async def expired() -> bool:
                return not (await client.list("events", "default")).items

            await eventually(expired, timeout=15.0, interval=0.2)
            assert [item.pod.metadata.name for item in (await client.list("pods", "default")).items] == ["web"]
    finally:
        up.kill(signal.SIGTERM)


def test_a_negative_event_ttl_is_refused_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "allinone", "up", "--dev", "--event-ttl", "-5", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "atoll up: --event-ttl must be 0 (keep Events) or more seconds, got -5"
    ]
    assert not (tmp_path / "atoll.db").exists(), "nothing was started"
