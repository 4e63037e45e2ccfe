"""Node: one host, registered and heartbeaten by its agent."""

from __future__ import annotations

from typing import Any

from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, NONE, Column, or_none
from atoll.kinds.kind import KindStrategy
from atoll.kinds.readiness import Readiness, ready_condition
from atoll.v1 import node_pb2
from atoll.validation.base import FieldError
from atoll.validation.cluster import validate_node_spec, validate_node_status


def node_status(node: Any, now: float) -> str:
    """Ready / NotReady / Unknown from the Ready condition, plus SchedulingDisabled when cordoned."""
    ready = next((c for c in node.status.conditions if c.type == "Ready"), None)
    status = {"True": "Ready", "False": "NotReady"}.get(ready.status if ready else "", "Unknown")
    return f"{status},SchedulingDisabled" if node.spec.unschedulable else status


def node_hypervisor(node: Any, now: float) -> str:
    """``type1/qemu-kvm``, the type alone when unnamed, ``<none>`` without a hypervisor."""
    hypervisor = node.status.hypervisor
    if hypervisor.type in ("", "none"):
        return NONE
    return f"{hypervisor.type}/{hypervisor.name}" if hypervisor.name else str(hypervisor.type)


def node_address(node: Any, address_type: str) -> str:
    return next((a.address for a in node.status.addresses if a.type == address_type), NONE)


class NodeKind(KindStrategy[node_pb2.Node]):
    def validate(self, obj: node_pb2.Node, errors: list[FieldError]) -> None:
        validate_node_spec(obj.spec, "spec", errors)

    def validate_status(self, obj: node_pb2.Node, errors: list[FieldError]) -> None:
        validate_node_status(obj.status, "status", errors)

    def readiness(self, obj: node_pb2.Node) -> Readiness:
        return ready_condition(obj)


KIND = NodeKind(
    name="Node",
    plural="nodes",
    short=("no",),
    field="node",
    message=node_pb2.Node,
    namespaced=False,
    columns=(
        NAME_COLUMN,
        Column("STATUS", node_status),
        Column("OS", lambda node, now: or_none(node.status.node_info.os)),
        Column("BUILD", lambda node, now: or_none(node.status.node_info.os_build)),
        Column("HYPERVISOR", node_hypervisor),
        AGE_COLUMN,
        Column("VERSION", lambda node, now: or_none(node.status.node_info.agent_version)),
        Column("INTERNAL-IP", lambda node, now: node_address(node, "InternalIP"), wide=True),
        Column("POD-CIDR", lambda node, now: or_none(node.spec.pod_cidr), wide=True),
        Column("ARCH", lambda node, now: or_none(node.status.node_info.arch), wide=True),
        Column("KERNEL-VERSION", lambda node, now: or_none(node.status.node_info.kernel_version), wide=True),
        Column("RUNTIMES", lambda node, now: ",".join(node.status.runtime_handlers) or NONE, wide=True),
    ),
    selectable_fields={"spec.unschedulable": lambda m: "true" if m.spec.unschedulable else "false"},
)
