"""Which Windows container image builds a Windows host runs, per isolation mode (the agent's own
re-check; the scheduler filters with the same rules before placing).

Microsoft's "Windows container version compatibility" rules:
- process isolation: image build == host build, except Server 2022 images (20348) on Windows 11
  and Server 2025 hosts; on Server 2016 (14393) the revision must match too.
- hyperv isolation: image build <= host build.
- hostprocess: no build rule (it runs on the host).
"""

from __future__ import annotations

import re

SERVER_2016 = 14393
SERVER_2022 = 20348
# Windows 11 21H2, 22H2, 23H2, 24H2 (= Server 2025), 25H2.
_RUNS_2022_PROCESS_ISOLATED = frozenset({22000, 22621, 22631, 26100, 26200})
_TAGS = {"ltsc2016": "10.0.14393", "1607": "10.0.14393", "ltsc2019": "10.0.17763", "1809": "10.0.17763",
         "ltsc2022": "10.0.20348", "ltsc2025": "10.0.26100"}
_VERSION = re.compile(r"^10\.0\.(\d+)(?:\.(\d+))?$")
OS_MISMATCH = (
    "The operating system of the container does not match the operating system of the host (0xc0370101)"
)


def parse(text: str) -> tuple[int, int | None] | None:
    """``10.0.BUILD[.REV]`` -> (build, revision or None); None for anything else."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)), None if match.group(2) is None else int(match.group(2))


def image_build(declared: str, image: str) -> str:
    """The image's build: the pod's ``windows.imageBuild`` or, failing that, the image tag."""
    if declared:
        return declared
    tag = image.rsplit("/", 1)[-1].partition(":")[2].split("@", 1)[0]
    for part in (tag, tag.split("-", 1)[0]):
        if part in _TAGS:
            return _TAGS[part]
        if _VERSION.match(part):
            return part
    return ""


def mismatch(host: str, image: str, isolation: str) -> str:
    """Why an image of build ``image`` cannot run on ``host`` in ``isolation``; "" when it can."""
    if isolation == "hostprocess" or not image:
        return ""
    host_build, image_build_ = parse(host), parse(image)
    if host_build is None or image_build_ is None:
        return f"cannot compare Windows builds (host {host!r}, image {image!r})"
    if isolation == "hyperv":
        return "" if image_build_[0] <= host_build[0] else f"image build {image} is newer than host build {host}"
    if image_build_[0] == host_build[0]:
        revisions = (host_build[1], image_build_[1])
        if host_build[0] == SERVER_2016 and None not in revisions and revisions[0] != revisions[1]:
            return f"Server 2016 process isolation needs the same revision (image {image}, host {host})"
        return ""
    if image_build_[0] == SERVER_2022 and host_build[0] in _RUNS_2022_PROCESS_ISOLATED:
        return ""
    return f"image build {image} does not match host build {host} in process isolation"
