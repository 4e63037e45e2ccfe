"""ImagePlatform: a node must run at least one platform of every container image, as the
registry's index (or the config of a single-platform image) lists them: the node's os, its
architecture and variant and, for Windows images with an ``os.version``, Microsoft's build
rules for the pod's isolation mode (atoll.windows, through WindowsIsolation's mask).

Only workloads whose images were resolved (scheduler/image_resolution.py) are filtered; an
image that could not be resolved keeps its workload Unschedulable with the registry's answer,
never placed on a guess. An explicit ``spec.windows.imageBuild`` wins over ``os.version`` (the
WindowsIsolation plugin applies it); os and architecture still come from the registry.

Explanations name what the nodes have and what the image offers, one reason per distinct
value: ``3 node(s) had architecture arm64 (image r/app:1 offers amd64)``, ``2 node(s) run
Windows build 20348, image r/iis:1 offers only 10.0.17763 (process isolation)``.
"""

from __future__ import annotations

import numpy as np

from atoll.image_platforms import DEFAULT_VARIANTS, Platform
from atoll.image_resolver import ResolvedImage
from atoll.user_text import bounded
from atoll.windows import Isolation
from scheduler.arrays import BoolArray
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.node_table import OS_CODES, NodeTable
from scheduler.plugins.windows_isolation import host_build_mask
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "ImagePlatform"
SHOWN_REFERENCE = 120


class ImagePlatform(PreFilter, VectorFilter, NoArgs):
    """Keeps the pass mask of each (platforms, isolation, explicit build) until the node table
    changes: most workloads share a few images, so a warm decision costs one lookup and an AND."""

    NAME = NAME

    def __init__(self) -> None:
        self._masks: dict[tuple[object, ...], BoolArray] = {}
        self._table: tuple[int, int] = (0, -1)  # (id, generation) of the node table the masks are of

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        if workload.image_problem:
            return Status.unschedulable(NAME, workload.image_problem, resolvable=False)
        if workload.is_vm or not workload.image_platforms:
            return SKIP
        return SUCCESS

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        nodes = snapshot.nodes
        if (id(nodes), nodes.generation) != self._table:
            self._masks.clear()
            self._table = (id(nodes), nodes.generation)
        passed = np.ones(nodes.capacity, dtype=np.bool_)
        reasons: list[ReasonMask] = []
        for image in workload.image_platforms or ():
            key = (image.platforms, workload.isolation, workload.image_build is not None)
            runs = self._masks.get(key)
            if runs is None or explain:
                runs, why = runnable(nodes, workload, image, explain)
                self._masks[key] = runs
                reasons.extend(why)
            passed &= runs
        return NodeVerdict(passed, tuple(reasons))


def runnable(
    nodes: NodeTable, workload: WorkloadInfo, image: ResolvedImage, explain: bool
) -> tuple[BoolArray, list[ReasonMask]]:
    """Per node: runs some platform of ``image``; with ``explain``, why the others do not."""
    any_os = np.zeros(nodes.capacity, dtype=np.bool_)
    any_arch = np.zeros(nodes.capacity, dtype=np.bool_)
    runs = np.zeros(nodes.capacity, dtype=np.bool_)
    for platform in image.platforms:
        os_ok = nodes.os_code == OS_CODES.get(platform.os, -1)
        arch_ok = os_ok & (nodes.arch_code == nodes.name_code(platform.architecture)) & _variant_ok(nodes, platform)
        any_os |= os_ok
        any_arch |= arch_ok
        runs |= arch_ok & _build_ok(nodes, workload, platform)
    if not explain:
        return runs, []
    shown = bounded(image.reference, SHOWN_REFERENCE)
    reasons = [ReasonMask(f"node(s) had an os the image {shown} does not offer ({_offers(image, 'os')})", ~any_os)]
    offered = _offers(image, "arch")
    for code in np.unique(nodes.arch_code[any_os & ~any_arch]):
        arch = nodes.code_name(int(code)) or "(not reported)"
        mask = any_os & ~any_arch & (nodes.arch_code == code)
        reasons.append(ReasonMask(f"node(s) had architecture {arch} (image {shown} offers {offered})", mask))
    build_failed = any_arch & ~runs
    if build_failed.any():
        builds = _offers(image, "build")
        mode = workload.isolation.value if workload.isolation else "process"
        for build in np.unique(nodes.win_build[build_failed]):
            mask = build_failed & (nodes.win_build == build)
            reasons.append(ReasonMask(
                f"node(s) run Windows build {int(build)}, image {shown} offers only {builds} ({mode} isolation)", mask
            ))
    return runs, reasons


def _variant_ok(nodes: NodeTable, platform: Platform) -> BoolArray | bool:
    if not platform.variant:
        return True
    same: BoolArray = nodes.variant_code == nodes.name_code(platform.variant)
    if DEFAULT_VARIANTS.get(platform.architecture) == platform.variant:
        same |= nodes.variant_code == 0  # a node that names no variant runs its architecture's default
    return same


def _build_ok(nodes: NodeTable, workload: WorkloadInfo, platform: Platform) -> BoolArray | bool:
    """Microsoft's build rule for a Windows platform; True for others, for hostprocess, and
    when the pod names its image build itself (WindowsIsolation applies that one)."""
    mode = workload.isolation
    if platform.os != "windows" or mode is None or mode is Isolation.HOSTPROCESS or workload.image_build is not None:
        return True
    build = platform.windows_build
    if build is None:
        return False  # no os.version: unknown, and unknown is not a guess
    return host_build_mask(nodes, build, mode)


def _offers(image: ResolvedImage, what: str) -> str:
    if what == "os":
        values = [p.os for p in image.platforms]
    elif what == "arch":
        values = [f"{p.architecture}/{p.variant}" if p.variant else p.architecture for p in image.platforms]
    else:
        values = [p.os_version or "no os.version" for p in image.platforms if p.os == "windows"]
    return ", ".join(dict.fromkeys(values)) or "none"
