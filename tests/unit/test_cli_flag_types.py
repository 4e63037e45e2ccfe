"""Flags that mean the same thing parse the same way in every verb.

Found by trying the CLI: `atoll rollout status --timeout 30s` was refused as "invalid float value"
while `atoll wait --timeout 30s` took it, and `atoll get pods -n <5,000 characters>` echoed all of
them back in "No resources found in ... namespace.". These walk every verb's parser (subcommands
included) so a new verb cannot bring either back.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from atoll.cli.main import build_parser, main


@pytest.fixture(autouse=True)
def no_client_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATOLL_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.delenv("ATOLL_SERVER", raising=False)


def _options(parser: argparse.ArgumentParser, where: str = "atoll") -> Iterator[tuple[str, argparse.Action]]:
    """Every optional flag of ``parser`` and of every subparser below it, with the command it is in."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{where} {name}")
        elif action.option_strings:
            yield where, action


def _flags(option: str) -> list[tuple[str, argparse.Action]]:
    found = [(where, action) for where, action in _options(build_parser()) if option in action.option_strings]
    assert found, f"no verb has {option}"
    return found


def test_every_timeout_takes_a_duration_and_plain_seconds() -> None:
    for where, action in _flags("--timeout"):
        assert callable(action.type), where
        assert action.type("30s") == 30.0, where
        assert action.type("1m30s") == 90.0, where
        assert action.type("2.5") == 2.5, where


def test_every_namespace_flag_refuses_an_impossible_name_in_a_bounded_line() -> None:
    for where, action in _flags("--namespace"):
        assert callable(action.type), where
        assert action.type("prod-1") == "prod-1", where
        for bad in ("x" * 5000, "Prod_1"):
            with pytest.raises(argparse.ArgumentTypeError) as refused:
                action.type(bad)
            assert len(str(refused.value)) < 200, where


@pytest.mark.parametrize(
    "argv",
    [
        ["get", "pods", "-n", "x" * 5000],
        ["delete", "pod", "web", "-n", "x" * 5000],
        ["apply", "-f", "-", "-n", "x" * 5000],
    ],
    ids=["get", "delete", "apply"],
)
def test_a_long_namespace_is_one_short_line_and_exit_1(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert err.count("\n") == 1
    assert "-n/--namespace" in err
    assert len(err) < 300


def test_rollout_status_takes_a_duration() -> None:
    args = build_parser().parse_args(["rollout", "status", "deploy/web", "--timeout", "30s"])
    assert args.timeout == 30.0
