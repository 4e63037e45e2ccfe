"""``atoll set image KIND/NAME... CONTAINER=IMAGE... [-n NS]``: change containers' images, as
``kubectl set image`` does, in the pod spec each object runs or stamps out (its kind's
``pod_spec``: a Pod's, a Deployment's pod template, which rolls the Deployment out).

``*=IMAGE`` sets every container. A container the object does not have is refused in one line
naming it and the containers it has, and nothing of that object is written. Each object is
written with the revision read (modify.py), so a concurrent change is never overwritten; an
object whose images are already those prints ``image unchanged`` (a second run changes nothing).
"""

from __future__ import annotations

import argparse
from typing import Any

from atoll import kinds
from atoll.cli import flag_values
from atoll.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Streams,
    add_namespace_flags,
    add_server_flag,
    namespace_of,
    run_with_client,
)
from atoll.cli.modify import modify_and_report
from atoll.cli.parser import examples
from atoll.cli.printers import resource_name
from atoll.cli.targets import kind_requests
from atoll.client import Client
from atoll.user_text import bounded, bounded_repr
from atoll.v1 import object_pb2

EVERY_CONTAINER = "*"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "set",
        help="change fields of objects from flags (set image)",
        description="Change fields of existing objects: atoll set image KIND/NAME CONTAINER=IMAGE ...",
        **examples(
            "atoll set image deploy/web nginx=nginx:1.27",
            "atoll set image pod/api '*=app:1.3' -n prod",
        ),
    )
    actions = parser.add_subparsers(dest="set_what", metavar="WHAT", required=True)
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
    image.add_argument("kind", metavar="KIND/NAME", help="deploy/NAME or pod/NAME (repeatable), or KIND NAME...")
    image.add_argument("words", metavar="ARG", nargs="+", help="more names, then CONTAINER=IMAGE (or *=IMAGE)...")
    add_namespace_flags(image)
    add_server_flag(image, top_level=False)
    image.set_defaults(run=run)


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
    """``obj`` with the images set (None when they already are); CliError for a kind without a
    pod spec or a container it does not have."""
    kind = kinds.of_object(obj)
    spec = kind.pod_spec(kinds.unwrap(obj))
    if spec is None:
        raise CliError(f"{resource_name(obj)} runs no containers whose image could be set")
    names = [container.name for container in spec.containers]
    missing = [name for name in images if name != EVERY_CONTAINER and name not in names]
    if missing:
        raise CliError(
            f"{resource_name(obj)}: no container named {bounded_repr(missing[0])} (it has {bounded(', '.join(names))})"
        )
    changed = False
    for container in spec.containers:
        image = images.get(container.name, images.get(EVERY_CONTAINER))
        if image is not None and container.image != image:
            container.image = image
            changed = True
    return obj if changed else None


def run(args: argparse.Namespace) -> int:
    streams = Streams()
    try:
        names, images = split_images(list(args.words))
        requests = kind_requests(args.kind, names, "set image")
        if not all(request.names for request in requests):
            raise CliError("give the objects by name: atoll set image deploy/NAME CONTAINER=IMAGE")
    except (CliError, kinds.UnknownKindError) as err:
        streams.error(f"error: {err}")
        return EXIT_FAILED

    async def body(client: Client, s: Streams) -> int:
        status = EXIT_OK
        for request in requests:
            for name in request.names:
                status = max(
                    status, await _one(client, request.kind, namespace_of(args, request.kind), name, images, s)
                )
        return status

    return run_with_client(args, body, streams)


async def _one(
    client: Client, kind: kinds.Kind, namespace: str, name: str, images: dict[str, str], streams: Streams
) -> int:
    def change(current: object_pb2.Object) -> object_pb2.Object | None:
        return set_images(current, images)

    return await modify_and_report(client, kind, namespace, name, change, streams, ("image updated", "image unchanged"))
