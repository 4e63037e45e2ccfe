"""imagePullPolicy defaults and the pull back-off, as kubelet has them; a fleet's simulated registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.hollow.fleet import FleetError, load_fleet, parse_fleet
from agent.hollow.hollow_fleet import group_drivers
from agent.images.pull_policy import ALWAYS, IF_NOT_PRESENT, NEVER, backoff_delay, effective_policy
from atoll.clock import ManualClock

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("policy", "tag", "digest", "expected"),
    [
        pytest.param("", "latest", "", ALWAYS, id="latest defaults to Always"),
        pytest.param("", "", DIGEST, IF_NOT_PRESENT, id="a digest defaults to IfNotPresent"),
        pytest.param("", "latest", DIGEST, IF_NOT_PRESENT, id="a digest beside latest pins it"),
        pytest.param("", "1.36", "", IF_NOT_PRESENT, id="another tag defaults to IfNotPresent"),
        pytest.param(NEVER, "latest", "", NEVER, id="an explicit policy wins"),
        pytest.param(ALWAYS, "1.36", "", ALWAYS, id="Always on a fixed tag"),
    ],
)
def test_effective_policy(policy: str, tag: str, digest: str, expected: str) -> None:
    assert effective_policy(policy, tag, digest) == expected


def test_backoff_doubles_from_10s_to_5min() -> None:
    assert [backoff_delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [10, 20, 40, 80, 160, 300, 300]


def test_a_fleet_group_declares_a_simulated_registry() -> None:
    spec = parse_fleet({"nodes": [{"count": 1, "namePrefix": "h-", "arch": "arm64", "imagePullSeconds": 3,
                                   "missingImages": ["*/ghost:*"]}]})
    settings = group_drivers(spec.groups[0], 0, ManualClock())[0].settings
    assert (settings.image_pull_seconds, settings.missing_images) == (3.0, ("*/ghost:*",))
    assert spec.groups[0].arch == "arm64"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("imagePullSeconds", -1, "is not a number of seconds from 0 to 3600", id="negative seconds"),
        pytest.param("imagePullSeconds", "x", "is not a number of seconds", id="text as seconds"),
        pytest.param("missingImages", "*/ghost:*", "a list of image reference patterns", id="a pattern, not a list"),
    ],
)
def test_bad_simulated_registries_are_one_line_naming_the_field(key: str, value: object, message: str) -> None:
    with pytest.raises(FleetError) as err:
        parse_fleet({"nodes": [{"count": 1, "namePrefix": "h-", key: value}]}, "f.yaml")
    assert str(err.value).startswith(f"f.yaml: nodes[0].{key}: ") and message in str(err.value)


def test_the_multiarch_example_fleet_loads() -> None:
    spec = load_fleet(Path(__file__).parents[3] / "deploy" / "fleets" / "multiarch.yaml")
    assert {group.arch for group in spec.groups} == {"amd64", "arm64"}
    assert all(group.image_pull_seconds > 0 for group in spec.groups)
