"""``atoll set image KIND/NAME... CONTAINER=IMAGE... [-n NS]``: change containers' images, as
``kubectl set image`` does, in the pod spec each object runs or stamps out (its kind's
``pod_spec``: a Pod's, a Deployment's pod template, which rolls the Deployment out).

``*=IMAGE`` sets every container (a container named in a pair of its own gets that image). A
container the object does not have is refused in one line naming it and the containers it has,
and nothing of that object is written. Each object is written with the revision read
(setting.py, modify.py), so a concurrent change is never overwritten; an object whose images are
already those prints ``image unchanged`` (a second run changes nothing).
"""

from __future__ import annotations

import argparse
from typing import Any

from atoll.cli import flag_values
from atoll.cli.common import CliError
from atoll.cli.modify import Change
from atoll.cli.parser import examples
from atoll.cli.setting import (
    EVERY_CONTAINER,
    add_objects_then_changes,
    containers_named,
    run_changes,
)
from atoll.user_text import bounded_repr
from atoll.v1 import object_pb2


def add_image_parser(actions: Any) -> None:
    """``set image`` under the ``set`` verb (set_fields.py)."""
    image = actions.add_parser(
        "image",
        help="set the images of containers of pods and deployments",
        description="Set container images: of a pod, or of a deployment's pod template (a rollout).",
        **examples(
            "atoll set image deploy/web nginx=nginx:1.27",
            "atoll set image deployment web nginx=nginx:1.27 sidecar=envoy:1.30 -n prod",
            "atoll set image pod/api '*=app:1.3'",
        ),
    )
    add_objects_then_changes(image, "CONTAINER=IMAGE (or *=IMAGE)")
    image.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_changes(args, "set image", split, ("image updated", "image unchanged"))


def split(words: list[str]) -> tuple[list[str], Change]:
    names, images = split_images(words)
    return names, lambda obj: set_images(obj, images)


def split_images(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Names, then ``CONTAINER=IMAGE`` pairs; CliError when there is no pair, a name follows a
    pair, or a pair has no container or image."""
    names: list[str] = []
    images: dict[str, str] = {}
    for word in words:
        container, equals, image = word.partition("=")
        if equals:
            if not container:
                raise CliError(f"{bounded_repr(word)}: give CONTAINER=IMAGE (or *=IMAGE for every container)")
            try:
                images[container] = flag_values.image(image)
            except argparse.ArgumentTypeError as err:
                raise CliError(f"{bounded_repr(word)}: {err}") from None
        elif images:
            raise CliError(f"{bounded_repr(word)} is not CONTAINER=IMAGE: give the names before the images")
        else:
            names.append(word)
    if not images:
        raise CliError("give at least one CONTAINER=IMAGE (or *=IMAGE for every container)")
    return names, images


def set_images(obj: object_pb2.Object, images: dict[str, str]) -> object_pb2.Object | None:
    """``obj`` with the images set (None when they already are); CliError for an object without
    containers or a container it does not have."""
    changed = False
    for container in containers_named(obj, list(images)):
        image = images.get(container.name, images.get(EVERY_CONTAINER))
        if image is not None and container.image != image:
            container.image = image
            changed = True
    return obj if changed else None
