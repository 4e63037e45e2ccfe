"""The agent's own check that a workload bound here can run here, before any driver sees it.

The scheduler filters the same things, but a workload can be forced onto a node by setting
``nodeName`` directly, and a node can change after placement; Kubernetes' kubelet re-admits too.
A Refusal fails the workload with ``reason`` and ``message`` (kubelet-style reason words).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agent.drivers.protocol import Driver
from atoll.extended_resources import ExtendedResourceError, add_container_units
from atoll.user_text import bounded_repr
from atoll.v1 import pod_pb2, virtualmachine_pb2


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str


def driver_for_pod(spec: pod_pb2.PodSpec, node_os: str, drivers: Sequence[Driver]) -> Driver | Refusal:
    """The driver that runs ``spec`` on a ``node_os`` node, or why none can.

    Order of checks: the pod's OS against the node's; a named runtime handler
    (``runtimeClassName``) must exist and run containers; otherwise the first container driver
    for the pod's OS; Windows pods also need a driver offering their isolation mode.
    """
    pod_os = spec.os or "linux"
    if pod_os != node_os:
        return Refusal("PodOSNotSupported", f"the pod's os is {pod_os} but this node runs {node_os}")
    candidates = [d for d in drivers if "container" in d.capabilities().kinds and d.capabilities().os == pod_os]
    if spec.runtime_class_name:
        named = [d for d in candidates if d.name == spec.runtime_class_name]
        if not named:
            handlers = ", ".join(d.name for d in drivers) or "none"
            return Refusal(
                "RuntimeHandlerNotFound",
                f"runtime handler {bounded_repr(spec.runtime_class_name)} is not offered here for {pod_os} containers "
                f"(handlers: {handlers})",
            )
        candidates = named
    if not candidates:
        return Refusal("NoContainerRuntime", f"this node has no driver that runs {pod_os} containers")
    if pod_os == "windows":
        isolation = spec.windows.isolation or "process"
        fitting = [d for d in candidates if isolation in d.capabilities().isolation]
        if not fitting:
            offered = sorted({mode for d in candidates for mode in d.capabilities().isolation})
            return Refusal(
                "UnsupportedIsolation",
                f"this node does not offer {isolation} isolation (offers: {', '.join(offered) or 'none'})",
            )
        return fitting[0]
    return candidates[0]


def extended_resources_refusal(spec: pod_pb2.PodSpec, offered: Mapping[str, int]) -> Refusal | None:
    """Why a pod needing more units of an extended resource than this node has at all cannot run
    here (kubelet's ``OutOf<resource>``); None when every one it needs is offered. Sharing units
    between pods is the scheduler's accounting; this catches a pod forced onto the wrong node."""
    needed: dict[str, int] = {}
    try:
        for container in spec.containers:
            add_container_units(needed, container.resources.requests, container.resources.limits)
    except ExtendedResourceError as err:  # validation refuses this; never run what cannot be counted
        return Refusal("InvalidExtendedResource", str(err))
    for name, units in sorted(needed.items()):
        if units > offered.get(name, 0):
            return Refusal(f"OutOf{name}", f"the pod needs {units} {name}; this node offers {offered.get(name, 0)}")
    return None


def driver_for_vm(spec: virtualmachine_pb2.VirtualMachineSpec, drivers: Sequence[Driver]) -> Driver | Refusal:
    """The driver that runs ``spec``: a VM driver whose hypervisor type (type1/type2) satisfies the
    VM's requirement and which boots the VM's guest OS; otherwise why none does."""
    hypervisors = [d for d in drivers if "vm" in d.capabilities().kinds]
    if not hypervisors:
        return Refusal("NoHypervisor", "this node has no hypervisor driver (it runs no virtual machines)")
    wanted = spec.hypervisor.type or "any"
    typed = [d for d in hypervisors if wanted == "any" or d.capabilities().hypervisor_type == wanted]
    if not typed:
        have = ", ".join(sorted({d.capabilities().hypervisor_type for d in hypervisors}))
        return Refusal("HypervisorTypeMismatch", f"the VM needs a {wanted} hypervisor; this node has {have}")
    guest = spec.guest.os or "linux"
    booting = [d for d in typed if guest in d.capabilities().guest_os]
    if not booting:
        return Refusal("GuestOSNotSupported", f"no hypervisor on this node boots {guest} guests")
    return booting[0]
