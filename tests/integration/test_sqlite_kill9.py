"""The sqlite store keeps every acknowledged write through kill -9 of its process.

A child process creates keys and prints each one the moment its create returns; the test
SIGKILLs it mid-stream, reopens the file and checks that every printed key is there with the
printed revision, and that revisions stayed one contiguous sequence. Three rounds on one file,
so recovery after a kill is itself killed again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.store.sqlite import SqliteStore

REPO_ROOT = Path(__file__).resolve().parents[2]
ACKS_BEFORE_KILL = [150, 400, 50]
ACK_DEADLINE_SECONDS = 60.0


def _run_and_kill(db_path: Path, prefix: str, acks_before_kill: int) -> dict[str, int]:
    """Runs the child until it acknowledged ``acks_before_kill`` creates, SIGKILLs it, and returns
    every key it acknowledged (including lines it flushed just before dying) with its revision."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.sqlite_kill9_child", str(db_path), prefix],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    lines: list[bytes] = []
    deadline = time.monotonic() + ACK_DEADLINE_SECONDS
    try:
        while len(lines) < acks_before_kill and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        rest, errors = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, f"child ended on its own: {errors.decode(errors='replace')}"
    assert len(lines) >= acks_before_kill, f"only {len(lines)} acks: {errors.decode(errors='replace')}"
    # A line cut by the kill was never fully printed, so never acknowledged: ignore it.
    complete = [line for line in lines + rest.splitlines(keepends=True) if line.endswith(b"\n")]
    return {key: int(revision) for key, revision in (line.decode().split() for line in complete)}


@pytest.mark.timeout(180)
async def test_every_acknowledged_create_survives_kill_9(tmp_path: Path) -> None:
    db_path = tmp_path / "atoll.db"
    acknowledged: dict[str, int] = {}
    for round_number, acks in enumerate(ACKS_BEFORE_KILL):
        acknowledged |= _run_and_kill(db_path, f"/kill9/{round_number}/", acks)

    store = SqliteStore(db_path)
    try:
        stored = {kv.key: kv for kv in (await store.range("/kill9/")).items}
        current = await store.current_revision()
        revision_after_reopen = await store.create("/kill9/after", b"x")
    finally:
        await store.close()

    missing = sorted(set(acknowledged) - set(stored))
    assert not missing, f"{len(missing)} acknowledged keys lost, first: {missing[:5]}"
    wrong = {key: (revision, stored[key].create_revision) for key, revision in acknowledged.items()
             if stored[key].create_revision != revision}  # fmt: skip
    assert not wrong, f"acknowledged revisions differ after reopen: {list(wrong.items())[:5]}"
    # Only creates happened: the stored keys hold exactly revisions 2..current, each once.
    assert sorted(kv.create_revision for kv in stored.values()) == list(range(2, current + 1))
    assert max(acknowledged.values()) <= current
    assert revision_after_reopen == current + 1
