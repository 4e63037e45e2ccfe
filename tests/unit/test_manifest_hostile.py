"""Hostile manifests: oversized files and stdin are refused before they are read, and any text
(alias bombs, deep nesting, huge scalars, wrong types at every field, lone surrogates, bytes
that are not UTF-8) gives either objects or one-line errors naming file, document and field,
never a traceback, in bounded time and memory."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atoll.manifest import MAX_ERRORS_PER_SOURCE, MAX_MANIFEST_BYTES, ManifestErrors, load_paths, load_text
from atoll.manifest_yaml import MAX_DEPTH

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples"
POD = """apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: web}
spec: {containers: [{name: main, image: busybox}]}
"""


def _errors(text: str, source: str = "m.yaml") -> list[str]:
    with pytest.raises(ManifestErrors) as raised:
        load_text(text, source)
    return [str(error) for error in raised.value.errors]


def _billion_laughs(levels: int) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "source", "expected"), [
    pytest.param(_billion_laughs(9), "m.yaml", "expands to more than 2000000 nodes", id="billion laughs"),
    pytest.param("spec: " + "[" * 10_000 + "]" * 10_000, "m.yaml", f"nested deeper than {MAX_DEPTH} levels",
                 id="ten thousand nested lists"),
    pytest.param("a: &a\n  b: &b [*a]\n", "m.yaml", "an alias refers to a node that contains it",
                 id="a node containing itself"),
    pytest.param("x: &x " + "[" * 40 + "]" * 40 + "\ny: " + "[" * 40 + "*x" + "]" * 40, "m.yaml",
                 "nested deeper than 64 levels (through an alias)", id="nesting that is deep only through an alias"),
    pytest.param("apiVersion: " + "9" * 5000, "m.yaml", "invalid YAML", id="an integer of 5000 digits"),
    pytest.param('metadata: {name: "\\ud800"}', "m.yaml", "not valid Unicode", id="a lone surrogate in YAML"),
    pytest.param("[" * 100_000 + "]" * 100_000, "m.json", "invalid JSON", id="JSON nested beyond recursion"),
    pytest.param("[" * 100 + "]" * 100, "m.json", f"nested deeper than {MAX_DEPTH} levels", id="JSON nested 100 deep"),
    pytest.param("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "m.json", f"nested deeper than {MAX_DEPTH} levels",
                 id="JSON nested one level deeper than the limit"),
    pytest.param('{"kind": "Pod", "metadata": {"name": "\\ud83d\\ude00\\ud800"}}', "m.json", "not valid Unicode",
                 id="a lone surrogate in JSON after a valid pair"),
    pytest.param('{"apiVersion": ' + "9" * 5000 + "}", "m.json", "invalid JSON", id="a JSON integer of 5000 digits"),
    pytest.param('{"kind": "\\ud800"}', "m.json", "not valid Unicode", id="a lone surrogate in JSON"),
])
def test_hostile_text_is_one_located_line(text: str, source: str, expected: str) -> None:
    (error,) = _errors(text, source)
    assert error.startswith(f"{source} doc 1: ") and expected in error, error


def test_a_huge_scalar_is_shown_bounded() -> None:
    errors = _errors(POD.replace("name: web", "name: " + "w" * 3_000_000))
    assert any("metadata.name" in error for error in errors)
    assert all(len(error) < 2000 and "\n" not in error for error in errors)


def test_a_document_with_thousands_of_problems_lists_the_first_and_counts_the_rest() -> None:
    unknown_fields = ", ".join(f"f{n}: 1" for n in range(5000))
    text = POD.replace("metadata: {name: web}", "metadata: {name: web, " + unknown_fields + "}")
    errors = _errors(text)
    assert len(errors) == MAX_ERRORS_PER_SOURCE + 1
    assert errors[-1] == f"m.yaml: {5000 - MAX_ERRORS_PER_SOURCE} more problems not shown"


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: reading it would cost 200 MB
    with pytest.raises(ManifestErrors) as raised:
        load_paths([str(huge)])
    assert str(raised.value) == (
        f"{huge}: larger than 4 MiB, the limit for one manifest file or stdin"
        " (split it into several files, or a directory)"
    )


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param(b"#" * (MAX_MANIFEST_BYTES + 1), "larger than 4 MiB", id="oversized stdin"),
    pytest.param(POD.encode() + b"\xff\xfe", f"not UTF-8 text (byte {len(POD)})", id="stdin that is not UTF-8"),
])
def test_stdin_is_bounded_and_checked_as_bytes(data: bytes, expected: str) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    with pytest.raises(ManifestErrors) as raised:
        load_paths(["-"], stdin=stdin)
    assert str(raised.value).startswith("<stdin>: ") and expected in str(raised.value)


def test_a_file_that_is_exactly_at_the_limit_loads(tmp_path: Path) -> None:
    exact = tmp_path / "exact.yaml"
    exact.write_bytes(POD.encode() + b"#" * (MAX_MANIFEST_BYTES - len(POD)))
    (document,) = load_paths([str(exact)])
    assert document.object.pod.metadata.name == "web"


# --- generated: every field of the examples replaced by hostile values -----------------------

def _example_documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


EXAMPLE_DOCUMENTS = _example_documents()

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["", "x" * 5000, "0", "-1", "1e400", "12Gx", "\u202e", "a\nb", "Always", "linux"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=3), max_leaves=8)


def _spots(node: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in a parsed document: the places a hostile value can go."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        found.append((node, key))
        _spots(value, found)
    return found


@st.composite
def hostile_manifests(draw: Any) -> str:
    document = copy.deepcopy(draw(st.sampled_from(EXAMPLE_DOCUMENTS)))
    spots = _spots(document, [])
    shape = draw(st.sampled_from(["yaml", "yaml-aliases", "json", "flow"]))
    shared = draw(VALUES)  # with yaml-aliases, every replaced spot gets this one value: YAML aliases
    for _ in range(draw(st.integers(1, 4))):
        container, key = draw(st.sampled_from(spots))
        if (isinstance(container, dict) and key in container) or (isinstance(container, list) and key < len(container)):
            container[key] = shared if shape == "yaml-aliases" else draw(VALUES)
    if shape == "json":
        return json.dumps(document, allow_nan=True)
    if shape == "flow":
        return yaml.safe_dump(document, default_flow_style=True, allow_unicode=True)
    return yaml.safe_dump(document, allow_unicode=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile_manifests(), as_json=st.booleans())
def test_any_manifest_gives_objects_or_located_one_line_errors(text: str, as_json: bool) -> None:
    source = "gen.json" if as_json else "gen.yaml"
    try:
        load_text(text, source)
    except ManifestErrors as failed:
        assert failed.errors
        for error in failed.errors:
            line = str(error)
            assert line.startswith(source) and "\n" not in line and len(line) < 2000, line
