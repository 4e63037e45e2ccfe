"""Profiles from YAML: the shipped files, and one-line errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.framework.profile import (
    BINPACK_PROFILE,
    DEFAULT_PROFILE,
    ProfileError,
    build_framework,
    load_profile,
    parse_profile,
)

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "scheduler"


@pytest.mark.parametrize(
    ("file", "profile"),
    [
        pytest.param("default.yaml", DEFAULT_PROFILE, id="the shipped default profile equals the built-in one"),
        pytest.param("binpack.yaml", BINPACK_PROFILE, id="the shipped binpack profile equals the built-in one"),
    ],
)
def test_shipped_profiles(file: str, profile: object) -> None:
    assert load_profile(DEPLOY / file) == profile


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param([], "expected a mapping", id="a list is not a profile"),
        pytest.param({"plugins": []}, "plugins: expected a non-empty list", id="a profile needs plugins"),
        pytest.param(
            {"plugins": [{"name": "Nope"}]}, "plugins[0].name: unknown plugin 'Nope'", id="an unknown plugin is named"
        ),
        pytest.param(
            {"plugins": ["OS", "OS"]},
            "plugins[1].name: plugin 'OS' is listed twice",
            id="a plugin listed twice is refused",
        ),
        pytest.param(
            {"plugins": [{"name": "LeastAllocated", "weight": -1}]},
            "plugins[0].weight",
            id="a negative weight is refused",
        ),
        pytest.param(
            {"plugins": [{"name": "OS", "wieght": 1}]}, "unknown field(s) wieght", id="a misspelt field is refused"
        ),
    ],
)
def test_profile_errors_name_the_field(data: object, message: str) -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile(data, "p.yaml")
    assert str(err.value).startswith("p.yaml: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("plugins: [", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(bad)


def test_zero_weight_keeps_the_filter_and_drops_the_score() -> None:
    framework = build_framework(parse_profile({"plugins": [{"name": "TaintToleration", "weight": 0}]}))
    assert len(framework.vector_filters) == 1
    assert framework.scores == []
