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


def validate_namespace_spec(spec: namespace_pb2.NamespaceSpec, path: str, errors: list[FieldError]) -> None:
    for index, finalizer in enumerate(spec.finalizers):
        if not finalizer:
            errors.append(FieldError(f"{path}.finalizers[{index}]", "must not be empty"))


def validate_namespace_status(status: namespace_pb2.NamespaceStatus, path: str, errors: list[FieldError]) -> None:
    check_one_of(status.phase, NAMESPACE_PHASES, f"{path}.phase", errors)


def validate_node_spec(spec: node_pb2.NodeSpec, path: str, errors: list[FieldError]) -> None:
    for index, taint in enumerate(spec.taints):
        validate_taint(taint, f"{path}.taints[{index}]", errors)


def validate_node_status(status: node_pb2.NodeStatus, path: str, errors: list[FieldError]) -> None:
    """Capacity, node info (os, Windows build), hypervisor, isolation modes, addresses, conditions."""
    validate_resource_list(status.capacity, f"{path}.capacity", errors)
    validate_resource_list(status.allocatable, f"{path}.allocatable", errors)
    check_one_of(status.node_info.os, NODE_OPERATING_SYSTEMS, f"{path}.nodeInfo.os", errors)
    if status.node_info.os == "windows":
        check_windows_build(status.node_info.os_build, f"{path}.nodeInfo.osBuild", errors)
    check_one_of(status.hypervisor.type, HYPERVISOR_TYPES, f"{path}.hypervisor.type", errors)
    for index, guest_os in enumerate(status.hypervisor.guest_os):
        check_one_of(
            guest_os, NODE_OPERATING_SYSTEMS, f"{path}.hypervisor.guestOs[{index}]", errors, required=True
        )
    if status.hypervisor.per_vm_overhead_memory:
        check_quantity(
            status.hypervisor.per_vm_overhead_memory, f"{path}.hypervisor.perVmOverheadMemory", errors
        )
    for index, mode in enumerate(status.windows_isolation):
        check_one_of(mode, WINDOWS_ISOLATION, f"{path}.windowsIsolation[{index}]", errors, required=True)
    for index, address in enumerate(status.addresses):
        check_one_of(address.type, ADDRESS_TYPES, f"{path}.addresses[{index}].type", errors, required=True)
        if not address.address:
            errors.append(FieldError(f"{path}.addresses[{index}].address", "required"))
    validate_conditions(status.conditions, f"{path}.conditions", errors)
