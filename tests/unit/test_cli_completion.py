"""``atoll completion SHELL`` prints argcomplete's shell code for atoll; the completers offer kinds,
formats and, without a server, nothing else (silently). Real bash completion against a live server
is in tests/integration/test_cli_kubectl.py."""

from __future__ import annotations

import argparse

import pytest

from atoll.cli import completion
from atoll.cli.main import main


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete "), ("zsh", "compdef"), ("fish", "complete ")])
def test_completion_prints_shell_code_for_atoll(shell: str, marker: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    out = capsys.readouterr().out
    assert marker in out and "atoll" in out


def test_an_unknown_shell_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["completion", "tcsh"])
    assert "invalid choice: 'tcsh'" in capsys.readouterr().err


def test_kinds_and_formats_complete_offline() -> None:
    args = argparse.Namespace(server="127.0.0.1:1")
    assert {"pod", "pods", "po"} <= set(completion.complete_kinds("po", args))
    assert completion.complete_outputs("json") == ["json", "jsonpath=", "jsonpath-file="]


def test_live_names_are_silent_without_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATOLL_CONFIG", "/nonexistent/config.yaml")
    args = argparse.Namespace(server="127.0.0.1:1", kind="pods", namespace=None, all_namespaces=False)
    assert completion.complete_names("w", args) == []
    assert completion.complete_kinds("pod/w", args) == []


@pytest.mark.parametrize(
    ("line", "words"),
    [
        pytest.param("atoll get po", ["get", "po"], id="a partial word"),
        pytest.param("atoll get pods ", ["get", "pods", ""], id="after a space: an empty word"),
        pytest.param("atoll get 'po", ["get", "'po"], id="an open quote"),
    ],
)
def test_words_before_the_cursor(line: str, words: list[str]) -> None:
    assert completion.words_before_cursor(line, len(line)) == words
