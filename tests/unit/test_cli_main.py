"""Parsing of ``atoll`` command lines, dispatch, and one-line errors with exit code 1."""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path

import pytest

from atoll.cli import main as cli_main
from atoll.cli.main import build_parser, main, verb_of


@pytest.fixture(autouse=True)
def no_client_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATOLL_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.delenv("ATOLL_SERVER", raising=False)


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "server"),
    [
        pytest.param(["--server", "a:1", "get", "pods"], "a:1", id="server before the verb"),
        pytest.param(["get", "pods", "--server", "b:2"], "b:2", id="server after the verb"),
        pytest.param(["--server", "a:1", "get", "pods", "--server", "b:2"], "b:2", id="the later server wins"),
        pytest.param(["get", "pods"], None, id="no server flag"),
    ],
)
def test_server_flag_is_accepted_before_and_after_the_verb(argv: list[str], server: str | None) -> None:
    assert parse(*argv).server == server


def test_get_flags_parse_like_kubectl() -> None:
    args = parse("get", "po", "a", "b", "-n", "prod", "-l", "app=web", "--field-selector", "spec.nodeName=n1")
    assert (args.kind, args.names, args.namespace) == ("po", ["a", "b"], "prod")
    assert (args.selector, args.field_selector, args.output.name) == ("app=web", "spec.nodeName=n1", "table")
    args = parse("get", "pods", "-A", "-o", "wide", "-w", "--chunk-size", "50")
    assert (args.all_namespaces, args.output.name, args.watch, args.chunk_size) == (True, "wide", True, 50)


def test_apply_takes_repeated_filenames() -> None:
    args = parse("apply", "-f", "a.yaml", "-f", "dir/", "--filename", "-")
    assert args.filenames == ["a.yaml", "dir/", "-"]


def test_delete_flags() -> None:
    args = parse("delete", "vm", "db", "--wait", "--cascade", "foreground", "--timeout", "30")
    assert (args.kind, args.names, args.wait, args.cascade, args.timeout) == (
        "vm",
        ["db"],
        True,
        "foreground",
        30.0,
    )
    assert parse("delete", "-f", "x.yaml").filenames == ["x.yaml"]


@pytest.mark.parametrize(
    ("argv", "verb"),
    [
        pytest.param(["up"], "up", id="bare verb"),
        pytest.param(["--server", "up", "get"], "get", id="the value of --server is not the verb"),
        pytest.param(["-h"], None, id="no verb"),
    ],
)
def test_verb_of_finds_the_first_positional(argv: list[str], verb: str | None) -> None:
    assert verb_of(argv) == verb


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param([], "error: the following arguments are required: VERB", id="no verb"),
        pytest.param(
            ["get", "pods", "-o", "xml"], "error: argument -o/--output: unknown output format 'xml'", id="bad output"
        ),
        pytest.param(["fly"], "error: argument VERB: invalid choice: 'fly'", id="unknown verb"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_1(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert err.startswith(expected)
    assert err.count("\n") == 1


def test_without_any_server_the_error_says_to_run_atoll_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "pods"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "run `atoll up`" in err and "--server" in err


def test_an_unreachable_server_is_one_line_naming_the_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", "127.0.0.1:1", "get", "pods"]) == 1
    err = capsys.readouterr().err
    assert err == "cannot reach the atoll server at 127.0.0.1:1: connection refused (is `atoll up` running?)\n"


def test_an_unknown_kind_prints_the_kinds_lookup_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", "127.0.0.1:1", "get", "gizmos"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown kind 'gizmos'; known kinds: ")
    assert err.count("\n") == 1


def test_a_lazy_verb_is_loaded_only_when_it_is_the_verb(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[argparse.Namespace] = []
    loads: list[str] = []
    fake_up = types.ModuleType("fake_up")

    def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        subparsers.add_parser("up").add_argument("--listen", default="127.0.0.1:7443")

    def run(args: argparse.Namespace) -> int:
        calls.append(args)
        return 0

    def load() -> cli_main.Verb:
        loads.append("up")
        return fake_up  # type: ignore[return-value]

    fake_up.add_parser = add_parser  # type: ignore[attr-defined]
    fake_up.run = run  # type: ignore[attr-defined]
    lazy = {"up": cli_main.LazyVerb(help="start it", load=load)}

    assert main(["up", "--listen", "0.0.0.0:9"], lazy_verbs=lazy) == 0
    assert calls[0].listen == "0.0.0.0:9"
    main(["--server", "127.0.0.1:1", "get", "gizmos"], lazy_verbs=lazy)
    assert loads == ["up"]


def test_the_foundation_alone_offers_no_up_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["up"])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "invalid choice: 'up'" in err and err.count("\n") == 1


def test_each_verb_is_listed_with_the_help_its_module_gives() -> None:
    """VERBS' one-line help (shown by `atoll --help` without loading modules) is the module's own."""
    parser = build_parser()
    verbs_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    module_help = {choice.dest: choice.help for choice in verbs_action._choices_actions}
    assert module_help == {name: verb.help for name, verb in cli_main.VERBS.items()}


@pytest.mark.parametrize("argv", [["--help"], ["version", "--client"]], ids=["atoll --help", "atoll version --client"])
def test_start_up_loads_no_verb_module_nor_heavy_library(argv: list[str]) -> None:
    """What keeps these two near a bare interpreter's start-up (tests/bench/cli_startup.py)."""
    heavy = ("grpc", "google", "yaml", "typing", "dataclasses", "importlib.metadata", "atoll.config", "atoll.kinds")
    probe = (
        "import sys\nfrom allinone.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('atoll.cli.',) + "
        f"{heavy!r}) and m not in ('atoll.cli.main', 'atoll.cli.parser', 'atoll.cli.version')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
