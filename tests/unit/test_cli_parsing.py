"""Command lines as kubectl users type them: flags anywhere, several names, KIND/NAME, mixed kinds,
"did you mean" for verbs, kinds, choices and flags, -f lists and -R."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from atoll import kinds
from atoll.cli.apply import load_objects
from atoll.cli.common import CliError, Streams, unreachable_line
from atoll.cli.main import build_parser, main
from atoll.cli.targets import KindRequest, kind_requests, name_of
from atoll.config import ClientFlags, resolve_client_config


@pytest.fixture(autouse=True)
def no_client_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATOLL_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.delenv("ATOLL_SERVER", raising=False)


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["get", "pod", "-n", "gc", "a", "b"], id="a flag between kind and names"),
        pytest.param(["get", "-n", "gc", "pod", "a", "b"], id="a flag before the kind"),
        pytest.param(["get", "pod", "a", "b", "-n", "gc"], id="a flag after the names"),
        pytest.param(["get", "pod", "a", "--namespace=gc", "b"], id="a flag between two names"),
        pytest.param(["--server", "s:1", "get", "pod", "a", "-n", "gc", "b"], id="top-level flag first"),
    ],
)
def test_flags_go_anywhere_among_the_positionals(argv: list[str]) -> None:
    args = parse(*argv)
    assert (args.kind, args.names, args.namespace) == ("pod", ["a", "b"], "gc")


def test_nested_verbs_accept_flags_after_their_positionals() -> None:
    args = parse("node", "drain", "n1", "--force", "n2", "--timeout", "5")
    assert (args.names, args.force, args.timeout) == (["n1", "n2"], True, 5.0)


def test_delete_takes_a_selector() -> None:
    args = parse("delete", "pods", "-l", "app=web", "-n", "prod")
    assert (args.kind, args.names, args.selector, args.namespace) == ("pods", [], "app=web", "prod")


POD, VM, NODE = kinds.by_name("Pod"), kinds.by_name("VirtualMachine"), kinds.by_name("Node")


@pytest.mark.parametrize(
    ("kind_arg", "names", "expected"),
    [
        pytest.param("pods", [], [KindRequest(POD, ())], id="a kind alone lists all"),
        pytest.param("po", ["a", "b"], [KindRequest(POD, ("a", "b"))], id="several names"),
        pytest.param("pod/a", [], [KindRequest(POD, ("a",))], id="KIND/NAME"),
        pytest.param(
            "pod/a", ["vm/b", "pods/c"], [KindRequest(POD, ("a", "c")), KindRequest(VM, ("b",))],
            id="mixed kinds grouped by kind in order of first appearance",
        ),
        pytest.param("pods,vms", [], [KindRequest(POD, ()), KindRequest(VM, ())], id="comma-separated kinds"),
        pytest.param("Node", ["n1"], [KindRequest(NODE, ("n1",))], id="the canonical kind name"),
    ],
)
def test_kind_requests(kind_arg: str, names: list[str], expected: list[KindRequest]) -> None:
    assert kind_requests(kind_arg, names, "get") == expected


@pytest.mark.parametrize(
    ("kind_arg", "names", "message"),
    [
        pytest.param(None, [], "give the kind of objects to get", id="no kind"),
        pytest.param("pod", ["vm/b"], "no need to specify a resource type", id="KIND/NAME after a kind"),
        pytest.param("pod/a", ["b"], "must have a single resource and name", id="a bare name after KIND/NAME"),
        pytest.param("pod/", [], "is not a KIND/NAME", id="an empty name"),
        pytest.param("pod/a/b", [], "is not a KIND/NAME", id="two slashes"),
        pytest.param("podz", [], 'did you mean "pod', id="a mistyped kind"),
        pytest.param("vmz/a", [], 'did you mean "vm', id="a mistyped kind in KIND/NAME"),
        pytest.param("x" * 5000, [], "more characters", id="a huge kind is cut short"),
    ],
)
def test_bad_kind_arguments_are_one_clear_line(kind_arg: str | None, names: list[str], message: str) -> None:
    with pytest.raises((CliError, kinds.UnknownKindError), match=message) as raised:
        kind_requests(kind_arg, names, "get")
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 1000


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["gett", "pods"], "invalid choice: 'gett'; did you mean \"get\"?", id="a mistyped verb"),
        pytest.param(["get", "pods", "--namespce", "x"], 'did you mean "--namespace"?', id="a mistyped flag"),
        pytest.param(["get", "pods", "--namspace=x"], 'did you mean "--namespace"?', id="a mistyped flag=value"),
        pytest.param(["vm", "strt", "x"], 'did you mean "start"?', id="a mistyped choice"),
        pytest.param(["vm", "start", "a", "b"], "unrecognized arguments: b", id="a surplus argument"),
    ],
)
def test_usage_mistakes_suggest_the_closest_word(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert expected in err and err.count("\n") == 1, err


def test_a_server_without_a_port_is_named_with_the_port_tried() -> None:
    config = resolve_client_config(ClientFlags(server="127.0.0.1"))
    line = unreachable_line(config.server, "failed to connect: Connection refused")
    assert line == "cannot reach the atoll server at 127.0.0.1:7443: connection refused (is `atoll up` running?)"


NAMESPACE = "apiVersion: atoll.dev/v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"


def test_filenames_split_on_commas_and_directories_recurse_only_with_r(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(NAMESPACE.format(name="a"))
    (tmp_path / "b.yaml").write_text(NAMESPACE.format(name="b"))
    nested = tmp_path / "dir" / "sub"
    nested.mkdir(parents=True)
    (tmp_path / "dir" / "c.yaml").write_text(NAMESPACE.format(name="c"))
    (nested / "d.yaml").write_text(NAMESPACE.format(name="d"))

    def names(paths: list[str], recursive: bool) -> list[str]:
        objects = load_objects(paths, None, Streams(), recursive=recursive)
        assert objects is not None
        return [obj.namespace.metadata.name for obj in objects]

    assert names([f"{tmp_path}/a.yaml,{tmp_path}/b.yaml"], False) == ["a", "b"]
    assert names([str(tmp_path / "dir")], False) == ["c"]
    assert names([str(tmp_path / "dir")], True) == ["c", "d"]


def test_a_directory_with_manifests_only_below_it_points_at_r(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text(NAMESPACE.format(name="a"))
    assert load_objects([str(tmp_path)], None, Streams()) is None
    assert "(-R)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argument", "expected"),
    [pytest.param("db", "db", id="a bare name"), pytest.param("vm/db", "db", id="KIND/NAME"),
     pytest.param("virtualmachines/db", "db", id="a plural kind")],
)
def test_one_kind_verbs_take_name_or_kind_slash_name(argument: str, expected: str) -> None:
    assert name_of(argument, VM) == expected


@pytest.mark.parametrize("argument", ["pod/db", "vm/", "vmz/db"])
def test_one_kind_verbs_refuse_another_kind(argument: str) -> None:
    with pytest.raises((CliError, kinds.UnknownKindError)):
        name_of(argument, VM)
