"""WindowsIsolation: the node offers the pod's isolation mode, and the pod's image build runs
on the node's build in that mode (atoll.windows holds Microsoft's rules).

HostProcess pods must set hostNetwork and make every container HostProcess; that is a property
of the pod, so it fails in PreFilter for every node at once. A process-isolated pod whose image
build is neither given (``spec.windows.image_build``), nor named by a Microsoft tag, nor known
from its registry (ImagePlatform) is not placed by chance: it waits with UNKNOWN_BUILD.
A Hyper-V pod of unknown build gets no build rule here.
"""

from __future__ import annotations

import numpy as np

from atoll.windows import SERVER_2016, Isolation, WindowsBuild, runnable_host_builds
from scheduler.arrays import BoolArray
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import NoArgs, PreFilter, VectorFilter
from scheduler.framework.status import SKIP, SUCCESS, NodeVerdict, ReasonMask, Status
from scheduler.node_table import ISOLATION_BITS, NodeTable
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo

NAME = "WindowsIsolation"
HOSTPROCESS_NEEDS_HOST_NETWORK = "hostprocess pods need hostNetwork: true and every container host_process"
UNKNOWN_BUILD = (
    "the image's Windows build is unknown and process isolation needs it: set spec.windows.imageBuild,"
    " use a tag that names the build (ltsc2022, 10.0.20348.2113), or let the scheduler ask the image's"
    " registry (--image-registry)"
)


def build_compatible(nodes: NodeTable, workload: WorkloadInfo) -> BoolArray:
    """Per node: the image build may run on the node's build in the pod's isolation mode."""
    image, mode = workload.image_build, workload.isolation
    if image is None or mode is None or mode is Isolation.HOSTPROCESS:
        return np.ones(nodes.capacity, dtype=np.bool_)
    return host_build_mask(nodes, image, mode)


def host_build_mask(nodes: NodeTable, image: WindowsBuild, mode: Isolation) -> BoolArray:
    """Per node: a container of ``image`` build runs on the node's Windows build in ``mode``
    (process or hyperv; atoll.windows has the rules)."""
    allowed = runnable_host_builds(image, mode)
    if isinstance(allowed, tuple):
        ok = (nodes.win_build >= allowed[0]) & (nodes.win_build <= allowed[1])
    elif len(allowed) == 1:
        ok = nodes.win_build == next(iter(allowed))
    else:
        ok = np.isin(nodes.win_build, list(allowed))
    if mode is Isolation.PROCESS and image.build == SERVER_2016 and image.revision is not None:
        # Server 2016 also needs the same revision when the node reports one.
        ok &= (nodes.win_revision < 0) | (nodes.win_revision == image.revision)
    return ok


def mode_reason(mode: Isolation) -> str:
    return f"node(s) didn't support {mode.value} isolation"


def build_reason(workload: WorkloadInfo) -> str:
    mode = workload.isolation.value if workload.isolation else "?"
    return f"node(s) had a Windows build that can't run image build {workload.image_build} ({mode})"


class WindowsIsolation(PreFilter, VectorFilter, NoArgs):
    NAME = NAME

    def pre_filter(self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot) -> Status:
        if workload.is_vm or workload.os != "windows" or workload.isolation is None:
            return SKIP
        if workload.isolation is Isolation.HOSTPROCESS and not (workload.host_network and workload.all_host_process):
            return Status.unschedulable(NAME, HOSTPROCESS_NEEDS_HOST_NETWORK, resolvable=False)
        unknown = workload.image_build is None and workload.image_platforms is None
        if workload.isolation is Isolation.PROCESS and unknown:
            return Status.unschedulable(NAME, UNKNOWN_BUILD, resolvable=False)
        return SUCCESS

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        nodes = snapshot.nodes
        assert workload.isolation is not None
        supports = (nodes.isolation_bits & ISOLATION_BITS[workload.isolation.value]) != 0
        builds = build_compatible(nodes, workload)
        passed = supports & builds
        if not explain:
            return NodeVerdict(passed)
        return NodeVerdict(
            passed,
            (
                ReasonMask(mode_reason(workload.isolation), ~supports),
                ReasonMask(build_reason(workload), supports & ~builds),
            ),
        )
