"""The agent's own re-check of Windows build compatibility (the scheduler filters with the same
rules, from atoll.windows, before placing; a workload forced onto a node by nodeName is checked
here), in the string form the drivers work with, plus Microsoft's mismatch message."""

from __future__ import annotations

from atoll.user_text import bounded_repr
from atoll.windows import BuildError, Isolation, build_from_image, can_run, parse_build

OS_MISMATCH = (
    "The operating system of the container does not match the operating system of the host (0xc0370101)"
)


def image_build(declared: str, image: str) -> str:
    """The image's build: the pod's ``windows.imageBuild`` or, failing that, the image tag."""
    if declared:
        return declared
    build = build_from_image(image)
    return "" if build is None else str(build)


def mismatch(host: str, image: str, isolation: str) -> str:
    """Why an image of build ``image`` cannot run on ``host`` in ``isolation``; "" when it can."""
    if isolation == Isolation.HOSTPROCESS or not image:
        return ""
    try:
        verdict = can_run(parse_build(host), parse_build(image), Isolation(isolation))
    except (BuildError, ValueError):
        return (
            f"cannot compare Windows builds (host {bounded_repr(host)}, image {bounded_repr(image)}, "
            f"isolation {bounded_repr(isolation)})"
        )
    return verdict.reason
