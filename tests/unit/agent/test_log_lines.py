"""Container log lines: the CRI line format the shim writes (stamped, long lines in pieces), how a
log is read back (pieces joined, ``since`` then ``tail``), and the previous run's log kept per task
(files for real drivers, the state file for simulated ones)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.drivers.abilities import PreviousLogNotFoundError
from agent.drivers.log_format import MAX_PIECE, LineWriter, decode, encode, rfc3339_nano
from agent.drivers.log_lines import LogLine, LogQuery, select, stamped
from agent.drivers.oci.log_reader import container_lines
from agent.drivers.previous_logs import PreviousLogs
from agent.drivers.protocol import TaskConfig, TaskRunningError
from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.linux import SimLinuxDriver
from atoll.clock import ManualClock

AT = 1_764_840_038_123_456_789  # 2025-12-04T09:20:38.123456789Z


def test_a_stamp_is_rfc3339_in_utc_with_nine_fraction_digits() -> None:
    assert rfc3339_nano(AT) == "2025-12-04T09:20:38.123456789Z"
    assert rfc3339_nano(1_000_000_000) == "1970-01-01T00:00:01.000000000Z"


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"2025-12-04T09:20:38.123456789Z stdout F hello", (AT, "stdout", "F", b"hello")),
        (b"2025-12-04T09:20:38.1Z stderr P a b ", (AT - 23_456_789, "stderr", "P", b"a b ")),
        (b"2025-12-04T09:20:38Z stdout F ", (AT - 123_456_789, "stdout", "F", b"")),
        (b"plain text from an older log", (None, "stdout", "F", b"plain text from an older log")),
    ],
    ids=["a full line", "a piece with a short fraction", "an empty line", "an unstamped line is stdout text"],
)
def test_log_file_lines_decode(raw: bytes, decoded: tuple[object, ...]) -> None:
    assert decode(raw) == decoded


def test_encode_and_decode_are_inverse() -> None:
    line = encode(AT, "stderr", b"x y z").rstrip(b"\n")
    assert decode(line) == (AT, "stderr", "F", b"x y z")


def test_the_writer_stamps_complete_lines_and_cuts_long_ones_into_pieces() -> None:
    now = iter(range(AT, AT + 100))
    writer = LineWriter("stdout", lambda: next(now))
    assert writer.feed(b"par") == b""
    first = writer.feed(b"tial\r\nnext")
    assert [decode(raw) for raw in first.splitlines()] == [(AT + 1, "stdout", "F", b"partial")]
    long = writer.feed(b"x" * (MAX_PIECE + 10))
    assert [decode(raw)[2:] for raw in long.splitlines()] == [("P", b"next" + b"x" * (MAX_PIECE - 4))]
    assert decode(writer.close().rstrip(b"\n"))[2:] == ("P", b"x" * 14), "the unfinished last line is a piece"
    assert writer.close() == b""


async def _batches(*batches: list[LogLine]) -> AsyncIterator[list[LogLine]]:
    for batch in batches:
        yield batch


async def _selected(query: LogQuery, *batches: list[LogLine]) -> list[str]:
    return [line.text async for line in select(_batches(*batches), query)]


async def test_since_filters_before_tail_and_tail_applies_to_the_first_batch_only() -> None:
    kept = [LogLine("old", 1), LogLine("mid", 5), LogLine("unstamped"), LogLine("new", 9)]
    later = [LogLine("later", 10)]
    assert await _selected(LogQuery(), kept, later) == ["old", "mid", "unstamped", "new", "later"]
    assert await _selected(LogQuery(since_ns=5), kept, later) == ["mid", "unstamped", "new", "later"]
    assert await _selected(LogQuery(tail=2, since_ns=5), kept, later) == ["unstamped", "new", "later"]
    assert await _selected(LogQuery(tail=0), kept, later) == ["later"]


def test_a_stamped_line_shows_its_time_first() -> None:
    assert stamped(LogLine("hi", AT)) == "2025-12-04T09:20:38.123456789Z hi"
    assert stamped(LogLine("hi")) == "hi"


async def test_a_container_log_joins_pieces_and_keeps_an_unfinished_last_line(tmp_path: Path) -> None:
    log = tmp_path / "container.log"
    log.write_bytes(
        encode(AT, "stdout", b"one")
        + encode(AT + 1, "stderr", b"lo", "P")
        + encode(AT + 2, "stdout", b"two")
        + encode(AT + 3, "stderr", b"ng")
        + b"written before stamps\n"
        + encode(AT + 4, "stdout", b"cut", "P")
    )
    lines = [line async for line in container_lines(log, LogQuery(), ended=lambda: True)]
    assert lines == [
        LogLine("one", AT), LogLine("two", AT + 2), LogLine("long", AT + 1, "stderr"),
        LogLine("written before stamps"), LogLine("cut", AT + 4),
    ]
    tail = [line.text async for line in container_lines(log, LogQuery(tail=1), ended=lambda: True)]
    assert tail == ["cut"]


def test_previous_logs_are_one_file_per_task_and_orphans_go_by_workload(tmp_path: Path) -> None:
    kept = PreviousLogs(tmp_path / "previous")
    for task_id in ("uid-1:main", "uid-1:side", "uid-2:main"):
        current = tmp_path / f"{task_id}.log"
        current.write_text(task_id)
        kept.keep(task_id, current)
        assert not current.exists()
    kept.keep("uid-1:main", tmp_path / "gone.log")
    assert kept.path("uid-1:main").read_text() == "uid-1:main", "a log moved already leaves the kept one"
    assert kept.remove_orphans(lambda uid: uid == "uid-2") == ["uid-1"]
    assert [path.name for path in (tmp_path / "previous").iterdir()] == [kept.path("uid-2:main").name]
    kept.forget("uid-2:main")
    kept.forget("uid-2:main")
    assert not any((tmp_path / "previous").iterdir())


def _task(task_id: str, script: str) -> TaskConfig:
    uid, name = task_id.split(":")
    return TaskConfig(task_id, "container", "ns", "w", uid, name, image="busybox", command=("sh", "-c", script))


async def _ran(driver: SimLinuxDriver, clock: ManualClock, task_id: str, script: str) -> None:
    await driver.start(_task(task_id, script))
    clock.advance(10)
    await driver.wait(task_id)


async def test_a_simulated_driver_keeps_one_previous_log_across_its_own_restart(tmp_path: Path) -> None:
    clock = ManualClock()
    state = SimSettings(state_file=tmp_path / "sim.json")
    driver = SimLinuxDriver(state, clock)
    with pytest.raises(PreviousLogNotFoundError):
        [line async for line in driver.logs("u1:main", LogQuery(previous=True))]
    await driver.start(_task("u1:main", "echo first; sleep infinity"))
    with pytest.raises(TaskRunningError):
        await driver.keep_previous_log("u1:main")
    await driver.destroy("u1:main", force=True)
    for run in ("second", "third"):
        await _ran(driver, clock, "u1:main", f"echo {run}; exit 1")
        await driver.keep_previous_log("u1:main")
        await driver.destroy("u1:main")
    await _ran(driver, clock, "u2:main", "echo other; exit 1")
    await driver.keep_previous_log("u2:main")

    restarted = SimLinuxDriver(state, clock)  # a new agent process on the same state
    previous = [line async for line in restarted.logs("u1:main", LogQuery(previous=True))]
    assert "third" in [line.text for line in previous] and "second" not in [line.text for line in previous]
    assert all(line.at_ns is not None for line in previous), "simulated lines are stamped with the driver's clock"
    assert await restarted.remove_orphan_logs(lambda uid: uid == "u1") == ["u2"]
    await restarted.forget_logs("u1:main")
    again = SimLinuxDriver(state, clock)
    for task_id in ("u1:main", "u2:main"):
        with pytest.raises(PreviousLogNotFoundError):
            [line async for line in again.logs(task_id, LogQuery(previous=True))]
