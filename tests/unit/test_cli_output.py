"""``atoll get`` output shapes: JSONPath (kubectl's dialect), custom columns, label columns,
--sort-by, --no-headers, and colour only at a terminal without NO_COLOR."""

from __future__ import annotations

import io

import pytest

from atoll.cli import colour, printers
from atoll.cli.common import CliError
from atoll.cli.jsonpath import Template
from atoll.cli.main import main
from tests.unit.test_cli_get import run_get

DOC = {
    "kind": "List",
    "items": [
        {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}}, "spec": {"ok": True, "n": 2}},
        {"metadata": {"name": "b"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
    ],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{.items[*].metadata.name}", "a b", id="every match space-separated"),
        pytest.param('{range .items[*]}{.metadata.name}{"\\t"}{.spec.n}{"\\n"}{end}', "a\t2\nb\t\n", id="range"),
        pytest.param(r"{.items[0].metadata.labels.app\.kubernetes\.io/name}", "x", id="escaped dots in a key"),
        pytest.param('{.items[?(@.metadata.name=="b")].status.conditions[0].type}', "Ready", id="a filter"),
        pytest.param("{.items[0].spec}", '{"ok":true,"n":2}', id="an object prints as JSON"),
        pytest.param("{.items[0].spec.ok}", "true", id="booleans in lowercase"),
        pytest.param("kind={.kind}!", "kind=List!", id="literal text around"),
        pytest.param("{.items[*].missing}", "", id="a missing key prints nothing"),
        pytest.param("{..name}", "a b", id="recursive descent"),
    ],
)
def test_jsonpath_templates_render_like_kubectl(template: str, expected: str) -> None:
    assert Template(template).render(DOC) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param("{range .items[*]}{.x}", "{range} without an {end}", id="range without end"),
        pytest.param("{end}", "{end} without a {range}", id="end without range"),
        pytest.param("{.items", "unclosed {", id="an unclosed brace"),
        pytest.param("{.items[?(@.a==]}", "error parsing jsonpath", id="a bad expression"),
        pytest.param("{}", "empty expression", id="an empty expression"),
    ],
)
def test_bad_templates_are_one_line(template: str, message: str) -> None:
    with pytest.raises(CliError, match=message) as raised:
        Template(template)
    assert "\n" not in str(raised.value)


async def test_jsonpath_over_a_list_and_over_one_named_object() -> None:
    _, listed, _, _ = await run_get("pods", "-o", "jsonpath={.items[*].metadata.name}")
    _, one, _, _ = await run_get("pod", "web", "-o", "jsonpath={.metadata.name} {.status.podIP}")
    assert (listed, one) == ("api web", "web 10.0.0.7")


async def test_custom_columns() -> None:
    code, out, _, _ = await run_get("pods", "-o", "custom-columns=NAME:.metadata.name,IP:.status.podIP,X:.nope")
    assert code == 0
    assert out.splitlines() == ["NAME   IP         X", "api    10.0.0.7   <none>", "web    10.0.0.7   <none>"]


async def test_show_labels_label_columns_sort_and_no_headers() -> None:
    code, out, _, _ = await run_get("pods", "-n", "prod", "--show-labels", "-L", "app,tier")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "APP", "TIER", "LABELS"]
    assert lines[1].split()[-2:] == ["web", "app=web"]  # TIER: empty, as kubectl leaves a missing label
    _, sorted_out, _, _ = await run_get("pods", "--sort-by", ".metadata.creationTimestamp", "--no-headers")
    assert [line.split()[0] for line in sorted_out.splitlines()] == ["api", "web"]  # api is older
    _, reverse, _, _ = await run_get("pods", "--sort-by", "{.metadata.name}", "-o", "name")
    assert reverse == "pod/api\npod/web\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["-o", "jsonpaht={.a}"], 'did you mean "jsonpath="', id="a mistyped format"),
        pytest.param(["-o", "custom-columns=NAME"], "expected HEADER:EXPRESSION", id="a column without expression"),
        pytest.param(["-o", "jsonpath={range .a}"], "{range} without an {end}", id="a template error at parse time"),
        pytest.param(["-o", "jsonpath-file=/nonexistent"], "cannot read /nonexistent", id="a missing template file"),
    ],
)
def test_bad_output_values_are_one_line_before_anything_is_sent(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["get", "pods", "--server", "127.0.0.1:1", *argv])
    err = capsys.readouterr().err
    assert exited.value.code == 1 and expected in err and err.count("\n") == 1, err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "no_color", "coloured"),
    [
        pytest.param(Terminal, "", True, id="a terminal"),
        pytest.param(Terminal, "1", False, id="a terminal with NO_COLOR"),
        pytest.param(io.StringIO, "", False, id="a pipe"),
    ],
)
def test_status_cells_are_coloured_only_at_a_terminal(
    stream: type[io.StringIO], no_color: str, coloured: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("TERM", "xterm")
    out = stream()
    printers.TableWriter(out).write([["NAME", "STATUS", "AGE"], ["web", "Running", "5m"]], header=True)
    lines = out.getvalue().splitlines()
    assert (colour.GREEN in lines[1]) is coloured
    assert colour.GREEN not in lines[0]
    plain = lines[1].replace(colour.GREEN, "").replace(colour.RESET, "")
    assert plain == "web    Running   5m"
