"""Scheduler plugins, one per file, and REGISTRY: the one explicit name -> factory mapping.

A factory takes the plugin's ``args`` mapping from the profile (most plugins take none).
Adding a plugin: write scheduler/plugins/<name>.py with a NAME constant, then one line below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from scheduler.plugins import (
    balanced_allocation,
    hypervisor,
    least_allocated,
    most_allocated,
    node_affinity,
    node_ready,
    node_resources_fit,
    node_unschedulable,
    operating_system,
    pod_topology_spread,
    taint_toleration,
    windows_isolation,
    workload_anti_affinity,
)

PluginFactory = Callable[[Mapping[str, object]], object]


class DuplicatePluginError(ValueError):
    """Two plugins registered under one name."""


def build_registry(entries: list[tuple[str, PluginFactory]]) -> dict[str, PluginFactory]:
    """A name -> factory dict; raises DuplicatePluginError when a name repeats."""
    registry: dict[str, PluginFactory] = {}
    for name, factory in entries:
        if name in registry:
            raise DuplicatePluginError(f"plugin {name!r} is registered twice")
        registry[name] = factory
    return registry


REGISTRY: dict[str, PluginFactory] = build_registry(
    [
        (node_ready.NAME, lambda args: node_ready.NodeReady()),
        (node_unschedulable.NAME, lambda args: node_unschedulable.NodeUnschedulable()),
        (operating_system.NAME, lambda args: operating_system.OperatingSystem()),
        (windows_isolation.NAME, lambda args: windows_isolation.WindowsIsolation()),
        (hypervisor.NAME, lambda args: hypervisor.Hypervisor()),
        (taint_toleration.NAME, lambda args: taint_toleration.TaintToleration()),
        (node_affinity.NAME, lambda args: node_affinity.NodeAffinity()),
        (node_resources_fit.NAME, lambda args: node_resources_fit.NodeResourcesFit()),
        (pod_topology_spread.NAME, lambda args: pod_topology_spread.PodTopologySpread()),
        (workload_anti_affinity.NAME, lambda args: workload_anti_affinity.WorkloadAntiAffinity()),
        (least_allocated.NAME, lambda args: least_allocated.LeastAllocated()),
        (most_allocated.NAME, lambda args: most_allocated.MostAllocated()),
        (balanced_allocation.NAME, lambda args: balanced_allocation.BalancedAllocation()),
    ]
)
