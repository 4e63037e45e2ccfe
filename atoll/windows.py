"""Which Windows container image builds run on which Windows hosts, per isolation mode (shared by
the scheduler, which filters with it, and the agent, which re-checks before starting).

The rules follow Microsoft's "Windows container version compatibility" page
(learn.microsoft.com/virtualization/windowscontainers/deploy-containers/version-compatibility):

- **process** (server silo, shared kernel): the image build must equal the host build. The one
  documented exception: Windows Server 2022 images (10.0.20348) run process-isolated on
  Windows 11 hosts (21H2 and later) and on Windows Server 2025 hosts. On Windows Server 2016
  (10.0.14393) the revision must match too; from 2019 (10.0.17763) on it need not.
- **hyperv** (utility VM with its own kernel): the image build must be equal to or older than
  the host build, never newer.
- **hostprocess**: runs directly on the host, so no build rule applies; the pod must use the
  host network (checked by the caller, which knows the pod).

Everything here is pure and table-friendly: builds in, a verdict with a reason out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from atoll.user_text import bounded_repr

SERVER_2016 = 14393
SERVER_2019 = 17763
SERVER_2022 = 20348
SERVER_2025 = 26100
WINDOWS_11_21H2 = 22000
WINDOWS_11_22H2 = 22621
WINDOWS_11_23H2 = 22631
WINDOWS_11_24H2 = 26100
WINDOWS_11_25H2 = 26200

# Host builds that Microsoft lists as running Server 2022 images process-isolated.
# Windows 11 24H2 shares build 26100 with Server 2025.
_RUNS_SERVER_2022_PROCESS_ISOLATED = frozenset(
    {WINDOWS_11_21H2, WINDOWS_11_22H2, WINDOWS_11_23H2, WINDOWS_11_24H2, WINDOWS_11_25H2, SERVER_2025}
)

# Tag words Microsoft publishes for its Windows images (LTSC names and semi-annual release ids), so
# users never have to write builds by hand. They also appear inside compound tags of the images
# built on them: ``4.8-windowsservercore-ltsc2019``, ``8.0-nanoserver-1809``.
_TAG_BUILDS = {
    "ltsc2016": SERVER_2016,
    "1607": SERVER_2016,
    "1709": 16299,
    "1803": 17134,
    "ltsc2019": SERVER_2019,
    "1809": SERVER_2019,
    "1903": 18362,
    "1909": 18363,
    "2004": 19041,
    "20h2": 19042,
    "ltsc2022": SERVER_2022,
    "ltsc2025": SERVER_2025,
}
_TAG_WORD = re.compile(r"[A-Za-z0-9.]+")
_BASE_NAMES = frozenset({"windowsservercore", "nanoserver", "servercore", "windows", "server"})
_VERSION = re.compile(r"^10\.0\.(\d+)(?:\.(\d+))?$")


class Isolation(StrEnum):
    """Windows isolation modes as written in pod specs and node status."""

    PROCESS = "process"
    HYPERV = "hyperv"
    HOSTPROCESS = "hostprocess"


@dataclass(frozen=True, slots=True, order=True)
class WindowsBuild:
    """A Windows version 10.0.BUILD[.REVISION]; ``revision`` is None when not stated."""

    build: int
    revision: int | None = None

    def __str__(self) -> str:
        return f"10.0.{self.build}" + ("" if self.revision is None else f".{self.revision}")


class BuildError(ValueError):
    """A Windows version string that is not 10.0.BUILD[.REVISION]."""


def parse_build(text: str) -> WindowsBuild:
    """``"10.0.20348.1850"`` -> WindowsBuild(20348, 1850); raises BuildError otherwise."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise BuildError(f"invalid Windows build {bounded_repr(text)} (expected 10.0.BUILD or 10.0.BUILD.REVISION)")
    revision = match.group(2)
    return WindowsBuild(int(match.group(1)), None if revision is None else int(revision))


def build_from_image(image: str) -> WindowsBuild | None:
    """The build an image reference names by its tag, else None: the fallback when no registry
    can be asked for the image's ``os.version`` (scheduler/image_resolution.py).

    Recognises Microsoft's LTSC names, release ids (``1809``, ``20H2``) and ``10.0.B[.R]`` as
    words of the tag (split at ``-`` and ``_``), so compound tags of images built on Microsoft's
    (``4.8-windowsservercore-ltsc2019``, ``10.0.17763.5458-amd64``) count too, and words that
    glue the release to the base name (``windowsservercore1809``). Words naming different builds
    name none.
    """
    tail = image.rsplit("/", 1)[-1]
    if ":" not in tail:
        return None
    tag = tail.split(":", 1)[1].split("@", 1)[0]
    found: set[WindowsBuild] = set()
    for word in _TAG_WORD.findall(tag.replace("_", "-")):
        build = _word_build(word.lower())
        if build is not None:
            found.add(build)
    return found.pop() if len(found) == 1 else None


def _word_build(word: str) -> WindowsBuild | None:
    if _VERSION.match(word):
        return parse_build(word)
    for name, build in _TAG_BUILDS.items():
        if word == name or (word.endswith(name) and word[: -len(name)] in _BASE_NAMES):
            return WindowsBuild(build)
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an image can run on a host; ``reason`` says why not (empty when it can)."""

    runnable: bool
    reason: str = ""


RUNNABLE = Verdict(True)


def can_run(host: WindowsBuild, image: WindowsBuild, isolation: Isolation) -> Verdict:
    """Whether a container built on ``image`` runs on ``host`` in ``isolation`` mode."""
    if isolation is Isolation.HOSTPROCESS:
        return RUNNABLE
    if isolation is Isolation.HYPERV:
        if image.build <= host.build:
            return RUNNABLE
        return Verdict(False, f"image build {image.build} is newer than host build {host.build} (hyperv)")
    if image.build == host.build:
        if host.build == SERVER_2016 and _revisions_differ(host, image):
            return Verdict(False, f"Server 2016 process isolation needs the same revision (image {image}, host {host})")
        return RUNNABLE
    if image.build == SERVER_2022 and host.build in _RUNS_SERVER_2022_PROCESS_ISOLATED:
        return RUNNABLE
    return Verdict(False, f"image build {image.build} does not match host build {host.build} (process)")


def _revisions_differ(host: WindowsBuild, image: WindowsBuild) -> bool:
    return host.revision is not None and image.revision is not None and host.revision != image.revision


def runnable_host_builds(image: WindowsBuild, isolation: Isolation) -> tuple[int, int] | frozenset[int]:
    """Host builds ``image`` can run on, as an inclusive range (hyperv) or a set (process).

    Used by the vectorized filter; hostprocess is handled by the caller (no build rule).
    """
    if isolation is Isolation.HYPERV:
        return (image.build, 2**31 - 1)
    if image.build == SERVER_2022:
        return frozenset({SERVER_2022} | _RUNS_SERVER_2022_PROCESS_ISOLATED)
    return frozenset({image.build})
