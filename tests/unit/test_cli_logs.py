"""``atoll logs`` flags: --previous, --timestamps, --since/--since-time, --tail; bad values are one
line and a usage exit before anything is asked of the server."""

from __future__ import annotations

import pytest

from atoll.cli.main import build_parser, main


def _parse(*argv: str) -> object:
    return build_parser().parse_args(["logs", *argv])


def test_flags_parse_as_kubectl_spells_them() -> None:
    args = _parse("pod/web", "-p", "--timestamps", "--since", "1h30m", "--tail", "5", "-c", "side")
    assert (args.previous, args.timestamps, args.since, args.tail, args.container) == (True, True, 5400.0, 5, "side")
    assert _parse("web").tail == -1, "every line by default"
    stamp = _parse("web", "--since-time", "2026-12-04T09:20:38.123456789+01:00").since_time
    assert stamp.ToNanoseconds() == 1_796_372_438_123_456_789
    assert _parse("web", "--since-time", "2026-12-04T08:20:38Z").since_time.ToNanoseconds() == 1_796_372_438 * 10**9


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "5x"], "invalid duration '5x'"),
        (["--tail", "-2"], "invalid line count '-2'"),
        (["--tail", "many"], "invalid line count 'many'"),
        (["--since-time", "yesterday"], "invalid time 'yesterday': use RFC 3339"),
        (["--since-time", "2026-12-04T09:20:38"], "invalid time"),
        (["--since", "1m", "--since-time", "2026-12-04T09:20:38Z"], "not allowed with argument"),
    ],
    ids=["a duration with an unknown unit", "a negative tail below -1", "a tail that is no number",
         "a time that is not RFC 3339", "a time without its offset", "since and since-time together"],
)
def test_bad_values_are_one_line_and_a_usage_exit(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        _parse("pod/web", *argv)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_previous_and_follow_together_are_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "pod/web", "--previous", "-f", "--server", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert "--previous and --follow do not go together" in err and len(err.strip().splitlines()) == 1
