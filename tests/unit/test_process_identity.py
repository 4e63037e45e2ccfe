"""The default leader-election identity names one process: a successor on the same host proves a
holder gone exactly when that process no longer runs, and never guesses about anything else."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atoll import process_identity
from atoll.process_identity import holder_is_gone

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def identity_of(pid: int, start: int | None = None) -> str:
    """The identity process ``pid`` (of this host and pid namespace) would have."""
    mine = process_identity.process_identity()
    if start is None:
        start = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    return re.sub(r"_[0-9]+_[0-9]+_([0-9a-f]{8})$", rf"_{pid}_{start}_\1", mine)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def test_the_identity_names_host_space_pid_start_and_a_nonce() -> None:
    first, second = process_identity.process_identity(), process_identity.process_identity()
    assert first != second, "two electors in one process never share an identity"
    host, space, pid, start, nonce = first.rsplit("_", 4)
    assert host == socket.gethostname()
    assert re.fullmatch("[0-9a-f]{8}", space) and re.fullmatch("[0-9a-f]{8}", nonce)
    assert first.rsplit("_", 1)[0] == identity_of(int(pid)).rsplit("_", 1)[0], "this process, as /proc names it"
    assert int(start) > 0


def test_a_running_process_is_not_gone(sleeper: subprocess.Popen[bytes]) -> None:
    assert not holder_is_gone(process_identity.process_identity())
    assert not holder_is_gone(identity_of(sleeper.pid))


def test_a_killed_process_is_gone_as_a_zombie_and_once_reaped(sleeper: subprocess.Popen[bytes]) -> None:
    identity = identity_of(sleeper.pid)
    sleeper.kill()
    deadline = time.monotonic() + 30
    while not holder_is_gone(identity):  # the kill lands asynchronously; then a zombie until reaped
        assert time.monotonic() < deadline, "a killed, unreaped process never counted as gone"
        time.sleep(0.01)
    assert Path(f"/proc/{sleeper.pid}").exists(), "still a zombie: not reaped yet"
    sleeper.wait()
    assert holder_is_gone(identity)


def test_a_pid_now_naming_a_process_started_at_another_time_is_gone(sleeper: subprocess.Popen[bytes]) -> None:
    assert holder_is_gone(identity_of(sleeper.pid, start=1))


@pytest.mark.parametrize(
    "identity",
    [
        pytest.param("atoll-up-host-0123abcd", id="another identity scheme (atoll up's)"),
        pytest.param("cp1_0123abcd", id="the fallback HOST_NONCE form"),
        pytest.param("", id="no holder"),
        pytest.param("x_zzzzzzzz_1_1_0123abcd", id="a space that is not hex"),
    ],
)
def test_what_it_cannot_decide_is_not_gone(identity: str) -> None:
    assert not holder_is_gone(identity)


def test_a_process_of_another_boot_or_pid_namespace_is_not_gone() -> None:
    dead_pid = 2**22 + 7  # above the kernel's pid_max limit: no such process here
    here = identity_of(dead_pid, start=5)
    assert holder_is_gone(here)
    space = here.rsplit("_", 4)[1]
    other_space = here.replace(f"_{space}_", f"_{(int(space, 16) ^ 1):08x}_")
    assert not holder_is_gone(other_space)


def test_a_proc_of_another_pid_namespace_proves_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A /proc mounted for another pid namespace shows pids that are not ours: no proof, and the
    identity falls back to HOST_NONCE."""
    real = Path("/proc")
    dead_here = identity_of(2**22 + 7, start=5)
    (tmp_path / "sys/kernel/random").mkdir(parents=True)
    (tmp_path / "sys/kernel/random/boot_id").write_text((real / "sys/kernel/random/boot_id").read_text())
    (tmp_path / "self/ns").mkdir(parents=True)
    (tmp_path / "self/ns/pid").symlink_to("pid:[4026531836]")
    (tmp_path / "self/stat").write_text("1 (init) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0")
    monkeypatch.setattr(process_identity, "_PROC", str(tmp_path))
    process_identity._own_process.cache_clear()
    try:
        assert re.fullmatch(r".+_[0-9a-f]{8}", process_identity.process_identity())
        assert process_identity.process_identity().count("_") == socket.gethostname().count("_") + 1
        assert not holder_is_gone(dead_here)
    finally:
        process_identity._own_process.cache_clear()
