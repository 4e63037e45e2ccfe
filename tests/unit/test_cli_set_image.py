"""``atoll set image``: the words it takes, and the images it sets in each kind's pod spec (a
Pod's, a Deployment's template), refusing what has no such container in one line."""

from __future__ import annotations

import pytest

from atoll import kinds
from atoll.cli import builders
from atoll.cli.common import CliError
from atoll.cli.set_image import set_images, split_images
from atoll.v1 import object_pb2
from tests.support.objects import make_pod, make_service, make_vm


def deployment() -> object_pb2.Object:
    return builders.deployment("web", "default", ["nginx:1.26", "envoy:1.30"], replicas=2, port=80)


def images_of(obj: object_pb2.Object) -> list[str]:
    spec = kinds.of_object(obj).pod_spec(kinds.unwrap(obj))
    assert spec is not None
    return [container.image for container in spec.containers]


def test_names_then_container_image_pairs() -> None:
    assert split_images(["web", "api", "nginx=nginx:1.27", "*=x"]) == (
        ["web", "api"],
        {"nginx": "nginx:1.27", "*": "x"},
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["web"], "give at least one CONTAINER=IMAGE"),
        (["nginx=x", "web"], "give the names before the images"),
        (["=x"], "give CONTAINER=IMAGE"),
        (["nginx="], "give an image"),
    ],
    ids=["no image", "a name after an image", "no container", "no image after ="],
)
def test_word_mistakes(words: list[str], expected: str) -> None:
    with pytest.raises(CliError, match=expected):
        split_images(words)


def test_a_deployments_template_and_a_pods_containers_are_set() -> None:
    web = set_images(deployment(), {"envoy": "envoy:1.31"})
    assert web is not None and images_of(web) == ["nginx:1.26", "envoy:1.31"]
    pod = set_images(make_pod("api"), {"*": "busybox:1.37"})
    assert pod is not None and images_of(pod) == ["busybox:1.37"]


def test_a_named_container_wins_over_the_wildcard() -> None:
    web = set_images(deployment(), {"*": "base:2", "nginx": "nginx:1.27"})
    assert web is not None and images_of(web) == ["nginx:1.27", "base:2"]


def test_images_already_set_change_nothing() -> None:
    assert set_images(deployment(), {"nginx": "nginx:1.26"}) is None


@pytest.mark.parametrize(
    ("obj", "images", "expected"),
    [
        (
            deployment(),
            {"nginx": "x", "redis": "y"},
            "deployment/web: no container named 'redis' \\(it has nginx, envoy\\)",
        ),
        (make_service(), {"*": "x"}, "runs no containers"),
        (make_vm(), {"*": "x"}, "runs no containers"),
    ],
    ids=["a container the deployment lacks", "a service", "a virtual machine"],
)
def test_what_cannot_be_set_is_one_line(obj: object_pb2.Object, images: dict[str, str], expected: str) -> None:
    with pytest.raises(CliError, match=expected) as refused:
        set_images(obj, images)
    assert "\n" not in str(refused.value)
