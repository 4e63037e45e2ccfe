"""``atoll set resources KIND/NAME... [--requests cpu=100m,memory=64Mi] [--limits ...] [-c C]``:
set containers' resource requests and limits, as ``kubectl set resources`` does, in the pod spec
each object runs or stamps out (a Pod's, a Deployment's pod template: a rollout).

Each ``NAME=QUANTITY`` given replaces that resource's request or limit; the others are kept.
Every container unless ``-c`` names one (a container the object lacks is refused in one line,
naming those it has). The API server checks the quantities (and requests <= limits) on the write,
refusing it whole in one line; ``resources unchanged`` when nothing changes.
"""

from __future__ import annotations

import argparse
from typing import Any

from atoll.cli.common import CliError
from atoll.cli.modify import Change
from atoll.cli.parser import examples
from atoll.cli.setting import (
    add_container_flag,
    add_objects_then_changes,
    containers_named,
    run_changes,
)
from atoll.user_text import bounded_repr
from atoll.v1 import object_pb2


def add_resources_parser(actions: Any) -> None:
    """``set resources`` under the ``set`` verb (set_fields.py)."""
    resources = actions.add_parser(
        "resources",
        help="set the resource requests and limits of containers of pods and deployments",
        description="Set requests and limits (cpu, memory, ...) of a pod's or a deployment's containers.",
        **examples(
            "atoll set resources deploy/web --requests=cpu=100m,memory=64Mi --limits=memory=128Mi",
            "atoll set resources deployment web -c app --limits=cpu=500m -n prod",
        ),
    )
    add_objects_then_changes(resources, None)
    resources.add_argument("--requests", default="", metavar="NAME=QUANTITY,...", help="e.g. cpu=100m,memory=64Mi")
    resources.add_argument("--limits", default="", metavar="NAME=QUANTITY,...", help="e.g. cpu=500m,memory=128Mi")
    add_container_flag(resources)
    resources.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def split(words: list[str]) -> tuple[list[str], Change]:
        requests = quantities(args.requests, "--requests")
        limits = quantities(args.limits, "--limits")
        if not requests and not limits:
            raise CliError("give --requests and/or --limits, e.g. --requests=cpu=100m,memory=64Mi")
        return words, lambda obj: set_resources(obj, requests, limits, args.containers)

    return run_changes(
        args, "set resources", split, ("resource requirements updated", "resource requirements unchanged")
    )


def quantities(text: str, flag: str) -> dict[str, str]:
    """``cpu=100m,memory=64Mi`` as a map; CliError for an entry without a name or a quantity."""
    found: dict[str, str] = {}
    for entry in filter(None, text.split(",")):
        name, equals, quantity = entry.partition("=")
        if not equals or not name or not quantity:
            raise CliError(f"{flag} {bounded_repr(entry)}: expected NAME=QUANTITY, e.g. cpu=100m or memory=64Mi")
        found[name] = quantity
    return found


def set_resources(
    obj: object_pb2.Object, requests: dict[str, str], limits: dict[str, str], container: str
) -> object_pb2.Object | None:
    """``obj`` with the quantities set in ``container`` (``*``: every one), or None when they
    already are; CliError for an object without containers or without that one."""
    changed = False
    for target in containers_named(obj, [container]):
        for wanted, current in ((requests, target.resources.requests), (limits, target.resources.limits)):
            for name, quantity in wanted.items():
                if current.get(name) != quantity:
                    current[name] = quantity
                    changed = True
    return obj if changed else None
