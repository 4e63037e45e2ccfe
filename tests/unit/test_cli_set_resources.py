"""``atoll set resources``: quantities given replace those of that resource, the others stay; every
container or the one ``-c`` names; nothing to change gives None ("resource requirements unchanged")."""

from __future__ import annotations

import pytest

from atoll import kinds
from atoll.cli import builders
from atoll.cli.common import CliError
from atoll.cli.set_resources import quantities, set_resources
from atoll.v1 import object_pb2


def deployment() -> object_pb2.Object:
    web = builders.deployment("web", "default", ["nginx", "envoy"], replicas=1, port=0)
    spec = kinds.of_object(web).pod_spec(kinds.unwrap(web))
    assert spec is not None
    spec.containers[0].resources.requests.update({"cpu": "50m", "memory": "32Mi"})
    return web


def resources_of(obj: object_pb2.Object) -> list[tuple[dict[str, str], dict[str, str]]]:
    spec = kinds.of_object(obj).pod_spec(kinds.unwrap(obj))
    assert spec is not None
    return [(dict(c.resources.requests), dict(c.resources.limits)) for c in spec.containers]


def test_given_quantities_replace_and_the_others_stay() -> None:
    changed = set_resources(deployment(), {"cpu": "100m"}, {"memory": "128Mi"}, "nginx")
    assert changed is not None
    assert resources_of(changed) == [({"cpu": "100m", "memory": "32Mi"}, {"memory": "128Mi"}), ({}, {})]


def test_every_container_by_default_and_unchanged_is_none() -> None:
    changed = set_resources(deployment(), {}, {"cpu": "1"}, "*")
    assert changed is not None and [limits for _, limits in resources_of(changed)] == [{"cpu": "1"}] * 2
    assert set_resources(deployment(), {"cpu": "50m"}, {}, "nginx") is None


def test_a_container_it_lacks_is_refused() -> None:
    with pytest.raises(CliError, match="no container named 'app' \\(it has nginx, envoy\\)"):
        set_resources(deployment(), {"cpu": "1"}, {}, "app")


def test_quantities_text() -> None:
    assert quantities("cpu=100m,memory=64Mi", "--requests") == {"cpu": "100m", "memory": "64Mi"}
    assert quantities("", "--limits") == {}
    for bad in ("cpu", "=1", "cpu="):
        with pytest.raises(CliError, match="expected NAME=QUANTITY"):
            quantities(bad, "--limits")
