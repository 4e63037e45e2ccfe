"""Profiles from YAML: the shipped files, and one-line errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.framework.profile import (
    BINPACK_PROFILE,
    DEFAULT_PROFILE,
    Profile,
    ProfileError,
    build_framework,
    load_profile,
    parse_profile,
)
from scheduler.plugins import REGISTRY

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "scheduler"


@pytest.mark.parametrize(
    ("file", "profile"),
    [
        pytest.param("default.yaml", DEFAULT_PROFILE, id="the shipped default profile equals the built-in one"),
        pytest.param("binpack.yaml", BINPACK_PROFILE, id="the shipped binpack profile equals the built-in one"),
    ],
)
def test_shipped_profiles(file: str, profile: Profile) -> None:
    assert load_profile(DEPLOY / file) == profile
    framework = build_framework(load_profile(DEPLOY / file), REGISTRY)
    assert [plugin.NAME for plugin in framework.plugins] == [spec.name for spec in profile.plugins]


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
        pytest.param(
            {"plugins": ["OS"], "percentageOfNodesToScore": 150},
            "percentageOfNodesToScore: expected a whole number 0-100 (0: adaptive), got 150",
            id="a percentage of nodes to score above 100 is refused",
        ),
        pytest.param(
            {"plugins": ["OS"], "percentageOfNodesToScore": True},
            "percentageOfNodesToScore: expected a whole number 0-100",
            id="a percentage of nodes to score that is not a number is refused",
        ),
        pytest.param(
            {"plugins": ["OS"], "percentageOfNodes": 10},
            "p.yaml: unknown field(s) percentageOfNodes",
            id="a misspelt profile field is refused",
        ),
    ],
)
def test_profile_errors_name_the_field(data: object, message: str) -> None:
    with pytest.raises(ProfileError) as err:
        build_framework(parse_profile(data, "p.yaml"), REGISTRY)
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
    framework = build_framework(parse_profile({"plugins": [{"name": "TaintToleration", "weight": 0}]}), REGISTRY)
    assert len(framework.vector_filters) == 1
    assert framework.scores == []


@pytest.mark.parametrize(
    ("plugin", "args", "message"),
    [
        pytest.param(
            "LeastAllocated",
            {"resource": {"cpu": 2}},
            "profile 'p', plugin LeastAllocated: plugins[0].args: unknown arg 'resource' (known: resources)",
            id="a misspelt arg is refused, naming profile, plugin and the args it knows",
        ),
        pytest.param(
            "MostAllocated",
            {"resources": {"gpu": 1}},
            "profile 'p', plugin MostAllocated: plugins[0].args.resources: unknown name 'gpu' (known: cpu, memory)",
            id="an unknown resource weight is refused",
        ),
        pytest.param(
            "LeastAllocated",
            {"resources": {"cpu": "heavy"}},
            "plugins[0].args.resources.cpu: expected a number >= 0, got 'heavy'",
            id="a weight that is not a number is refused",
        ),
        pytest.param(
            "LeastAllocated",
            {"resources": {"cpu": 0, "memory": 0}},
            "plugins[0].args.resources: at least one weight must be above 0",
            id="all weights zero is refused",
        ),
        pytest.param(
            "TaintToleration",
            {"strict": True},
            "profile 'p', plugin TaintToleration: plugins[0].args: unknown arg 'strict' (this plugin takes no args)",
            id="a plugin without options refuses any arg",
        ),
    ],
)
def test_plugin_args_errors_name_profile_plugin_and_arg(plugin: str, args: object, message: str) -> None:
    profile = parse_profile({"name": "p", "plugins": [{"name": plugin, "args": args}]}, "p.yaml")
    with pytest.raises(ProfileError) as err:
        build_framework(profile, REGISTRY)
    assert str(err.value).startswith("p.yaml: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_resource_weights_from_the_profile_change_the_choice() -> None:
    """Node a has spare cpu, node b spare memory: the weights decide which one LeastAllocated prefers."""
    from tests.unit.scheduler.builders import make_node, make_pod
    from tests.unit.scheduler.harness import Harness

    def choice(weights: dict[str, float]) -> str:
        profile = parse_profile(
            {"plugins": ["NodeResourcesFit", {"name": "LeastAllocated", "args": {"resources": weights}}]}
        )
        harness = Harness(
            make_node("a").cpu("16").memory("4Gi"), make_node("b").cpu("2").memory("64Gi"), profile=profile
        )
        return harness.decide(make_pod("p").requests(cpu="1", memory="1Gi")).node

    assert choice({"cpu": 1, "memory": 0}) == "a"
    assert choice({"cpu": 0, "memory": 1}) == "b"
