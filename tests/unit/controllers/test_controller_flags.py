"""atoll-controller's flags: a bad cluster CIDR is one line on stderr and exit code 2, before
anything connects; good ones reach the options; leader election is the default."""

from __future__ import annotations

import pytest

from controller.main import build_parser, main, options_from


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--cluster-cidr", "10.244.0.0/33"], 'atoll-controller: --cluster-cidr "10.244.0.0/33" is not a CIDR'),
        (["--cluster-cidr", "10.244.0.0/16", "--node-cidr-mask-size", "8"],
         "atoll-controller: --node-cidr-mask-size 8"),
    ],
    ids=["a malformed cluster CIDR", "a node mask wider than the cluster CIDR"],
)
def test_a_bad_cidr_flag_is_one_line_and_exit_code_2(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--server", "127.0.0.1:1", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_the_flags_reach_the_node_ipam_options() -> None:
    args = build_parser().parse_args(["--cluster-cidr", "10.8.0.0/14", "--node-cidr-mask-size", "26"])
    options = options_from(args)
    assert (options.cluster_cidr, options.node_cidr_mask_size) == ("10.8.0.0/14", 26)
    assert "node-ipam" in options.controllers


@pytest.mark.parametrize(
    ("flags", "elects"),
    [([], True), (["--leader-elect"], True), (["--no-leader-elect"], False)],
    ids=["by default it elects a leader", "--leader-elect is still accepted", "--no-leader-elect opts out"],
)
def test_leader_election_is_the_default(flags: list[str], elects: bool) -> None:
    options = options_from(build_parser().parse_args(flags))
    assert options.leader_elect is elects
    assert (options.lease_namespace, options.lease_name) == ("atoll-system", "atoll-controller"), "atoll up's Lease"


def test_lease_timings_that_cannot_work_are_one_line_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", "127.0.0.1:1", "--lease-duration", "5", "--renew-deadline", "10"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("atoll-controller: leader election needs 0 < retry period") and err.count("\n") == 1
