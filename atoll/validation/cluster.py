"""Validation of the cluster-scoped kinds' specs and status: Namespace and Node."""

from __future__ import annotations

from atoll.v1 import namespace_pb2, node_pb2
from atoll.validation.base import FieldError, check_one_of, check_quantity, check_windows_build
from atoll.validation.meta import validate_conditions
from atoll.validation.resources import validate_resource_list
from atoll.validation.scheduling import validate_taint

NAMESPACE_PHASES = ("Active", "Terminating")
NODE_OPERATING_SYSTEMS = ("linux", "windows")
HYPERVISOR_TYPES = ("type1", "type2", "none")
WINDOWS_ISOLATION = ("process", "hyperv", "hostprocess")
ADDRESS_TYPES = ("InternalIP", "ExternalIP", "Hostname")


def validate_namespace(namespace: namespace_pb2.Namespace, errors: list[FieldError]) -> None:
    for index, finalizer in enumerate(namespace.spec.finalizers):
        if not finalizer:
            errors.append(FieldError(f"spec.finalizers[{index}]", "must not be empty"))
    check_one_of(namespace.status.phase, NAMESPACE_PHASES, "status.phase", errors)


def validate_node(node: node_pb2.Node, errors: list[FieldError]) -> None:
    for index, taint in enumerate(node.spec.taints):
        validate_taint(taint, f"spec.taints[{index}]", errors)
    status = node.status
    validate_resource_list(status.capacity, "status.capacity", errors)
    validate_resource_list(status.allocatable, "status.allocatable", errors)
    check_one_of(status.node_info.os, NODE_OPERATING_SYSTEMS, "status.nodeInfo.os", errors)
    if status.node_info.os == "windows":
        check_windows_build(status.node_info.os_build, "status.nodeInfo.osBuild", errors)
    check_one_of(status.hypervisor.type, HYPERVISOR_TYPES, "status.hypervisor.type", errors)
    for index, guest_os in enumerate(status.hypervisor.guest_os):
        check_one_of(
            guest_os, NODE_OPERATING_SYSTEMS, f"status.hypervisor.guestOs[{index}]", errors, required=True
        )
    if status.hypervisor.per_vm_overhead_memory:
        check_quantity(
            status.hypervisor.per_vm_overhead_memory, "status.hypervisor.perVmOverheadMemory", errors
        )
    for index, mode in enumerate(status.windows_isolation):
        check_one_of(mode, WINDOWS_ISOLATION, f"status.windowsIsolation[{index}]", errors, required=True)
    for index, address in enumerate(status.addresses):
        check_one_of(address.type, ADDRESS_TYPES, f"status.addresses[{index}].type", errors, required=True)
        if not address.address:
            errors.append(FieldError(f"status.addresses[{index}].address", "required"))
    validate_conditions(status.conditions, "status.conditions", errors)
