"""The atoll-scheduler command: user mistakes are one line, not a traceback; it elects a leader by
default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atoll.process_identity import holder_is_gone
from scheduler.main import build_parser, election_from, main


def test_a_bad_profile_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("plugins: [{name: Teleport}]\n", encoding="utf-8")
    assert main(["--server", "127.0.0.1:1", "--profile", str(profile)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"atoll-scheduler: {profile}: plugins[0].name: unknown plugin 'Teleport'")
    assert "\n" not in err


def test_leader_election_is_the_default_on_atoll_ups_lease_and_can_be_turned_off() -> None:
    election = election_from(build_parser().parse_args([]))
    assert election is not None
    assert (election.namespace, election.lease_name) == ("atoll-system", "atoll-scheduler")
    assert holder_is_gone(election.identity) is False, "the default identity names this (running) process"
    assert re.fullmatch(r".+_[0-9a-f]{8}_[0-9]+_[0-9]+_[0-9a-f]{8}", election.identity)
    assert election_from(build_parser().parse_args(["--leader-elect"])) is not None, "still accepted"
    assert election_from(build_parser().parse_args(["--no-leader-elect"])) is None
    named = election_from(build_parser().parse_args(["--identity", "cp1"]))
    assert named is not None and named.identity == "cp1"


def test_lease_timings_that_cannot_work_are_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", "127.0.0.1:1", "--lease-duration", "5", "--renew-deadline", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("atoll-scheduler: leader election needs 0 < retry period") and "\n" not in err
