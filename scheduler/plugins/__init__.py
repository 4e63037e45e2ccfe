"""Scheduler plugins, one per file, and REGISTRY: the one explicit name -> plugin class mapping.

Each plugin subclasses the extension points it implements (scheduler/framework/interfaces.py);
``build_registry`` checks that contract when this module is imported. A plugin's profile
``args`` go to its ``from_args`` (most take none and refuse any).
Adding a plugin: write scheduler/plugins/<name>.py with a NAME constant, then one line below.
"""

from __future__ import annotations

from scheduler.framework.registry import PluginRegistry, build_registry
from scheduler.plugins.balanced_allocation import BalancedAllocation
from scheduler.plugins.hypervisor import Hypervisor
from scheduler.plugins.image_platform import ImagePlatform
from scheduler.plugins.least_allocated import LeastAllocated
from scheduler.plugins.migration_target import MigrationTarget
from scheduler.plugins.most_allocated import MostAllocated
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_ready import NodeReady
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.operating_system import OperatingSystem
from scheduler.plugins.pod_topology_spread import PodTopologySpread
from scheduler.plugins.taint_toleration import TaintToleration
from scheduler.plugins.volume_binding import VolumeBinding
from scheduler.plugins.windows_isolation import WindowsIsolation
from scheduler.plugins.workload_anti_affinity import WorkloadAntiAffinity

REGISTRY: PluginRegistry = build_registry(
    MigrationTarget,
    NodeReady,
    NodeUnschedulable,
    OperatingSystem,
    WindowsIsolation,
    ImagePlatform,
    Hypervisor,
    TaintToleration,
    NodeAffinity,
    NodePorts,
    NodeResourcesFit,
    PodTopologySpread,
    WorkloadAntiAffinity,
    VolumeBinding,
    LeastAllocated,
    MostAllocated,
    BalancedAllocation,
)
