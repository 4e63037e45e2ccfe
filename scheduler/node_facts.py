"""NodeFacts: the scheduler's decoded view of one Node message (quantities and builds parsed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from atoll.extended_resources import ExtendedResourceError, is_extended, whole_units
from atoll.image_platforms import normalize_architecture
from atoll.v1 import node_pb2
from atoll.windows import BuildError, WindowsBuild, parse_build
from scheduler.quantity import QuantityError, amount, cpu_millis


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str  # NoSchedule, PreferNoSchedule, NoExecute

    def __str__(self) -> str:
        return f"{{{self.key}: {self.value}}}" if self.value else f"{{{self.key}}}"


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """Everything the filters and scores read about a node. Unparseable fields become zero/None."""

    name: str
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    ready: bool = True
    unschedulable: bool = False
    cpu_millis: int = 0
    memory: int = 0
    pods: int = 110
    ephemeral: int = 0
    os: str = "linux"
    windows_build: WindowsBuild | None = None
    # GOARCH name (amd64, arm64) and OCI variant (v8); "" when the node did not say.
    arch: str = "amd64"
    arch_variant: str = ""
    isolation: frozenset[str] = frozenset()
    hypervisor_type: str = "none"
    guest_os: frozenset[str] = frozenset()
    per_vm_overhead_memory: int = 0
    taints: tuple[Taint, ...] = ()
    # Allocatable count of each extended resource the node offers (nvidia.com/gpu: 2).
    extended: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # What live migrations need alike on both ends (NodeStatus.migration, cpuModels).
    hypervisor_name: str = ""
    accelerator: str = ""
    cpu_models: frozenset[str] = frozenset()
    live_migration: bool = False


def from_node(node: node_pb2.Node) -> NodeFacts:
    """Decode a Node. Ready means a Ready condition with status True; pods default to 110."""
    status, info = node.status, node.status.node_info
    alloc = dict(status.allocatable) or dict(status.capacity)
    os_name = info.os or "linux"
    build: WindowsBuild | None = None
    if os_name == "windows" and info.os_build:
        try:
            build = parse_build(info.os_build)
        except BuildError:
            build = None
    hv = status.hypervisor
    return NodeFacts(
        name=node.metadata.name,
        labels=MappingProxyType(dict(node.metadata.labels)),
        ready=any(c.type == "Ready" and c.status == "True" for c in status.conditions),
        unschedulable=node.spec.unschedulable,
        cpu_millis=_safe(cpu_millis, alloc.get("cpu", "")),
        memory=_safe(amount, alloc.get("memory", "")),
        pods=_safe(amount, alloc.get("pods", "110")),
        ephemeral=_safe(amount, alloc.get("ephemeral-storage", "")),
        os=os_name,
        windows_build=build,
        arch=normalize_architecture(info.arch),
        arch_variant=status.arch_variant,
        isolation=frozenset(status.windows_isolation)
        or (frozenset({"process"}) if os_name == "windows" else frozenset()),
        hypervisor_type=hv.type or "none",
        guest_os=frozenset(hv.guest_os),
        per_vm_overhead_memory=_safe(amount, hv.per_vm_overhead_memory),
        taints=tuple(Taint(t.key, t.value, t.effect or "NoSchedule") for t in node.spec.taints),
        extended=MappingProxyType({name: _whole(text) for name, text in sorted(alloc.items()) if is_extended(name)}),
        hypervisor_name=hv.name,
        accelerator=status.migration.accelerator,
        cpu_models=frozenset(status.cpu_models),
        live_migration=status.migration.live_migration,
    )


def _safe(parse: Callable[[str], int], text: str) -> int:
    # A node reporting a malformed quantity offers nothing of it, rather than crashing the scheduler.
    try:
        return parse(text)
    except QuantityError:
        return 0


def _whole(text: str) -> int:
    # Same for extended resources: a malformed count offers none (validation refuses it anyway).
    try:
        return whole_units(text)
    except ExtendedResourceError:
        return 0
