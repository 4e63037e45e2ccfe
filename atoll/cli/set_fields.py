"""``atoll set image|env|resources ...``: change fields of existing objects from flags, as ``kubectl
set`` does (set_image.py, set_env.py, set_resources.py; what they share: setting.py)."""

from __future__ import annotations

from typing import Any

from atoll.cli.parser import examples
from atoll.cli.set_env import add_env_parser
from atoll.cli.set_image import add_image_parser
from atoll.cli.set_resources import add_resources_parser


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "set",
        help="change container images, environment or resources of pods and deployments",
        description="Change fields of existing objects: atoll set image|env|resources KIND/NAME ...",
        **examples(
            "atoll set image deploy/web nginx=nginx:1.27",
            "atoll set env deploy/web MODE=prod DEBUG-",
            "atoll set resources deploy/web --requests=cpu=100m,memory=64Mi",
        ),
    )
    actions = parser.add_subparsers(dest="set_what", metavar="WHAT", required=True)
    add_image_parser(actions)
    add_env_parser(actions)
    add_resources_parser(actions)
