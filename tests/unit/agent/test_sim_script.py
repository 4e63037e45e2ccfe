"""The simulated task language: where scripts come from and how they parse."""

from __future__ import annotations

import math

import pytest

from agent.drivers.sim.script import ScriptError, Step, parse_script, script_of


@pytest.mark.parametrize(
    ("command", "args", "annotation", "script"),
    [
        pytest.param((), (), "", None, id="no command is a service that runs forever"),
        pytest.param(("nginx",), ("-g", "daemon off;"), "", None, id="an unknown program runs forever"),
        pytest.param(("sh", "-c"), ("sleep 2; exit 3",), "", "sleep 2; exit 3", id="a shell -c runs its text"),
        pytest.param(("/bin/bash", "-c", "exit 1"), (), "", "exit 1", id="a shell path works too"),
        pytest.param(("exit", "4"), (), "", "exit 4", id="a statement verb as command is a script"),
        pytest.param(("sh", "-c", "exit 1"), (), "echo hi", "echo hi", id="the annotation wins"),
    ],
)
def test_where_the_script_comes_from(command: tuple[str, ...], args: tuple[str, ...], annotation: str,
                                     script: str | None) -> None:
    assert script_of(command, args, annotation) == script


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        pytest.param(None, (Step("sleep", math.inf),), id="nothing means forever"),
        pytest.param("sleep 1.5 && exit 2", (Step("sleep", 1.5), Step("exit", 2)), id="&& separates statements"),
        pytest.param("echo hello world\nalloc 1Ki", (Step("echo", text="hello world"), Step("alloc", 1024)),
                     id="newlines separate and quantities parse"),
        pytest.param("python app.py", (Step("sleep", math.inf),), id="an unknown statement runs forever"),
        pytest.param("exit", (Step("exit", 0),), id="a bare exit is exit 0"),
    ],
)
def test_parsing(text: str | None, steps: tuple[Step, ...]) -> None:
    assert parse_script(text) == steps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("sleep x", "'x' is not a number", id="a non-numeric sleep is refused"),
        pytest.param("alloc lots", 'invalid quantity "lots"', id="a bad quantity is refused"),
        pytest.param("sleep -1", "must not be negative", id="a negative sleep is refused"),
    ],
)
def test_bad_statements_name_the_statement(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as err:
        parse_script(text)
    assert message in str(err.value)
    assert repr(text) in str(err.value)
