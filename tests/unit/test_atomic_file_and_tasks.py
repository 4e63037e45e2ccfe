"""The small shared helpers: atomic file replacement and cancelling background tasks."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from atoll.atomic_file import write_atomic
from atoll.tasks import cancel_and_wait


def test_write_atomic_replaces_with_the_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    write_atomic(path, b"one", 0o600)
    write_atomic(path, b"two", 0o600)
    assert path.read_bytes() == b"two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_a_failed_write_atomic_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_atomic(path, b"kept")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


async def test_cancel_and_wait_ends_every_task_and_raises_nothing() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    async def fails() -> None:
        raise ValueError("boom")

    done = asyncio.create_task(asyncio.sleep(0, result="done"))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(forever()), asyncio.create_task(fails()), done]
    await asyncio.sleep(0)
    results = await cancel_and_wait(tasks)
    assert all(task.done() for task in tasks)
    assert isinstance(results[0], asyncio.CancelledError)
    assert isinstance(results[1], ValueError)
    assert results[2] == "done"
