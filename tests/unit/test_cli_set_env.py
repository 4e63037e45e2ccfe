"""``atoll set env``: variables set in place or appended, removed with KEY-, in every container
or the one ``-c`` names; nothing to change gives None (the verb prints "env unchanged")."""

from __future__ import annotations

from typing import Any

import pytest

from atoll import kinds
from atoll.cli import builders
from atoll.cli.common import CliError
from atoll.cli.set_env import set_env
from atoll.v1 import config_pb2, object_pb2, pod_pb2


def deployment() -> object_pb2.Object:
    web = builders.deployment("web", "default", ["nginx", "envoy"], replicas=1, port=0)
    spec = kinds.of_object(web).pod_spec(kinds.unwrap(web))
    assert spec is not None
    spec.containers[0].env.extend(
        [
            pod_pb2.EnvVar(name="MODE", value="dev"),
            pod_pb2.EnvVar(
                name="TOKEN",
                value_from=config_pb2.EnvVarSource(secret_key_ref=config_pb2.ObjectKeySelector(name="s", key="t")),
            ),
            pod_pb2.EnvVar(name="LEVEL", value="info"),
        ]
    )
    return web


def env_of(obj: object_pb2.Object) -> list[list[tuple[str, str, bool]]]:
    spec = kinds.of_object(obj).pod_spec(kinds.unwrap(obj))
    assert spec is not None
    return [[(v.name, v.value, v.HasField("value_from")) for v in c.env] for c in spec.containers]


def test_set_in_place_append_and_remove_in_one_container() -> None:
    changed = set_env(deployment(), {"MODE": "prod", "NEW": "1"}, ["LEVEL"], "nginx")
    assert changed is not None
    assert env_of(changed) == [[("MODE", "prod", False), ("TOKEN", "", True), ("NEW", "1", False)], []]


def test_a_variable_read_from_a_secret_is_replaced_by_the_value_given() -> None:
    changed = set_env(deployment(), {"TOKEN": "literal"}, [], "nginx")
    assert changed is not None and env_of(changed)[0][1] == ("TOKEN", "literal", False)


def test_every_container_by_default() -> None:
    changed = set_env(deployment(), {"ZONE": "a"}, [], "*")
    assert changed is not None and [container[-1] for container in env_of(changed)] == [("ZONE", "a", False)] * 2


@pytest.mark.parametrize(
    ("setting", "removing"),
    [({"MODE": "dev"}, []), ({}, ["ABSENT"])],
    ids=["a value it already has", "removing a variable it lacks"],
)
def test_nothing_to_change_is_none(setting: dict[str, str], removing: list[str]) -> None:
    assert set_env(deployment(), setting, removing, "nginx") is None


def test_a_container_it_lacks_is_refused_naming_those_it_has() -> None:
    with pytest.raises(CliError, match="deployment/web: no container named 'app' \\(it has nginx, envoy\\)"):
        set_env(deployment(), {"A": "1"}, [], "app")


def test_the_words_it_takes() -> None:
    from atoll.cli.key_changes import split_key_changes

    def anything(key: str, value: str) -> Any:
        return None if key else "the name may not be empty"

    assert split_key_changes(["web", "A=1", "B-"], "variable", anything) == (["web"], {"A": "1"}, ["B"])
    with pytest.raises(CliError, match="invalid variable '=1': the name may not be empty"):
        split_key_changes(["web", "=1"], "variable", anything)
