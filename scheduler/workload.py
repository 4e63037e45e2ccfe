"""WorkloadInfo: what the scheduler needs to know about a Pod or a VirtualMachine, decoded once.

Plugins never read protobuf messages; they read this frozen, kind-independent view. Decoding
validates what the scheduler depends on (quantities, selector operators, Windows builds) and
raises WorkloadError with the field path, which the scheduling loop turns into a FailedScheduling event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter
from types import MappingProxyType
from typing import TypedDict

from atoll.extended_resources import ExtendedResourceError, add_container_units
from atoll.image_resolver import ResolvedImage
from atoll.labels import LabelSelector, selector_from_proto
from atoll.labels import SelectorError as LabelSelectorError
from atoll.storage import claims_of
from atoll.user_text import bounded_repr
from atoll.v1 import pod_pb2, scheduling_pb2, virtualmachine_pb2
from atoll.windows import BuildError, Isolation, WindowsBuild, build_from_image, parse_build
from scheduler.quantity import QuantityError, amount, cpu_millis
from scheduler.selectors import Selector, SelectorError, from_match_labels, requirement

EVERYTHING = Selector()
POD = "Pod"
VM = "VirtualMachine"
# The target side of a VM's live migration (scheduler/migration.py): placed like the VM itself.
MIGRATION = "VirtualMachineMigration"


class WorkloadError(ValueError):
    """A workload the scheduler cannot interpret; the message names the object and field."""


@dataclass(frozen=True, slots=True)
class Toleration:
    """A decoded toleration; atoll.tolerations.tolerates matches it against a taint."""

    key: str
    operator: str  # Equal or Exists
    value: str
    effect: str  # "" tolerates every effect


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    hard: bool  # DoNotSchedule (True) or ScheduleAnyway
    selector: LabelSelector


@dataclass(frozen=True, slots=True)
class AntiAffinityTerm:
    selector: LabelSelector
    topology_key: str


@dataclass(frozen=True, slots=True)
class HostPort:
    """A port the workload takes on its node: ``host_ip`` "" means every address of the node."""

    port: int
    protocol: str
    host_ip: str

    def conflicts(self, other: HostPort) -> bool:
        """Kubernetes' rule: same port and protocol, and the addresses overlap (equal, or either
        binds every address)."""
        if (self.port, self.protocol) != (other.port, other.protocol):
            return False
        wildcard = ("", "0.0.0.0", "::")
        return self.host_ip in wildcard or other.host_ip in wildcard or self.host_ip == other.host_ip


@dataclass(frozen=True, slots=True)
class PreferredTerm:
    weight: int
    term: Selector


@dataclass(frozen=True, slots=True)
class WorkloadInfo:
    """The scheduler's view of one workload. ``required_terms`` are ORed; None = no constraint."""

    kind: str
    namespace: str
    name: str
    uid: str = ""
    resource_version: int = 0
    # metadata.generation: the API server bumps it on every spec change, never on status
    # writes; 0 when unknown (then every change is decoded again).
    generation: int = 0
    priority: int = 0
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    node_name: str = ""
    cpu_millis: int = 0
    memory: int = 0
    ephemeral: int = 0
    os: str = "linux"
    isolation: Isolation | None = None
    image_build: WindowsBuild | None = None
    # True when image_build is today's guess from a tag (a registry's answer replaces it).
    image_build_from_tag: bool = False
    # The distinct container images, in spec order.
    images: tuple[str, ...] = ()
    # What registries said the images offer (scheduler/image_resolution.py); None: not asked.
    image_platforms: tuple[ResolvedImage, ...] | None = None
    # Why the images could not be resolved (registry down, manifest unknown...); "" when fine.
    image_problem: str = ""
    # Names of the PersistentVolumeClaims (in its namespace) it uses.
    claims: tuple[str, ...] = ()
    host_network: bool = False
    all_host_process: bool = False
    guest_os: str = ""
    hypervisor_type: str = "any"
    node_selector: Selector = EVERYTHING
    required_terms: tuple[Selector, ...] | None = None
    preferred_terms: tuple[PreferredTerm, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    spread: tuple[SpreadConstraint, ...] = ()
    anti_affinity: tuple[AntiAffinityTerm, ...] = ()
    # Whole units of each extended resource requested, summed over containers, sorted by name.
    extended: tuple[tuple[str, int], ...] = ()
    # The containers' hostPorts (the NodePorts filter keeps two claims of one apart).
    host_ports: tuple[HostPort, ...] = ()
    # A VM's CPU model (spec.cpuModel; "" for the hypervisor's default).
    cpu_model: str = ""
    # Disks that live on the VM's node only (image overlays, blank disks): a live migration
    # would have to copy them.
    local_disks: tuple[str, ...] = ()
    # Set on the placement of a live migration's target (scheduler/migration.py): the node the
    # VM runs on now, and the node the user asked for ("" for any).
    migrating_from: str = ""
    migration_target: str = ""

    @property
    def key(self) -> str:
        """Unique key: ``Kind/namespace/name``."""
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def claim_keys(self) -> tuple[str, ...]:
        """``namespace/name`` of each claim it uses."""
        return tuple(f"{self.namespace}/{name}" for name in self.claims)

    def bound_to(self, node_name: str) -> WorkloadInfo:
        """This workload with ``node_name`` set: ``dataclasses.replace(self, node_name=...)``
        without running ``__init__`` over every field again (a quarter of its cost; the
        snapshot assumes one placement per decision)."""
        bound = object.__new__(WorkloadInfo)
        for name, value in zip(_FIELD_NAMES, _field_values(self), strict=True):
            object.__setattr__(bound, name, value)
        object.__setattr__(bound, "node_name", node_name)
        return bound

    @property
    def is_vm(self) -> bool:
        return self.kind in (VM, MIGRATION)

    @property
    def uses_utility_vm(self) -> bool:
        """A Hyper-V isolated Windows pod pays for a utility VM."""
        return self.kind == POD and self.isolation is Isolation.HYPERV


_FIELD_NAMES = tuple(f.name for f in fields(WorkloadInfo))
_field_values = attrgetter(*_FIELD_NAMES)


def from_pod(pod: pod_pb2.Pod) -> WorkloadInfo:
    """Decode a Pod; requests default to limits when only limits are given."""
    meta, spec = pod.metadata, pod.spec
    where = f"pod {meta.namespace}/{meta.name}"
    cpu = mem = eph = 0
    extended: dict[str, int] = {}
    index = 0
    try:
        for index, container in enumerate(spec.containers):  # noqa: B007 (index names the field on error)
            res = container.resources
            cpu += cpu_millis(res.requests.get("cpu") or res.limits.get("cpu", ""))
            mem += amount(res.requests.get("memory") or res.limits.get("memory", ""))
            eph += amount(res.requests.get("ephemeral-storage") or res.limits.get("ephemeral-storage", ""))
            add_container_units(extended, res.requests, res.limits)
    except (QuantityError, ExtendedResourceError) as err:
        raise WorkloadError(f"{where}: spec.containers[{index}].resources: {err}") from None
    os_name = spec.os or "linux"
    isolation: Isolation | None = None
    image_build: WindowsBuild | None = None
    if os_name == "windows":
        isolation, image_build = _windows(spec, where)
    from_tag = image_build is not None and not spec.windows.image_build
    return WorkloadInfo(
        kind=POD,
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        resource_version=meta.resource_version,
        generation=meta.generation,
        labels=MappingProxyType(dict(meta.labels)),
        node_name=spec.node_name,
        cpu_millis=cpu,
        memory=mem,
        ephemeral=eph,
        os=os_name,
        isolation=isolation,
        image_build=image_build,
        image_build_from_tag=from_tag,
        images=tuple(dict.fromkeys(container.image for container in spec.containers if container.image)),
        host_network=spec.host_network,
        all_host_process=bool(spec.containers) and all(c.host_process for c in spec.containers),
        extended=tuple(sorted((name, count) for name, count in extended.items() if count)),
        host_ports=tuple(
            HostPort(port.host_port, port.protocol or "TCP", port.host_ip)
            for container in spec.containers
            for port in container.ports
            if port.host_port
        ),
        claims=claims_of(pod),
        **_placement(spec.scheduling, where),
    )


def from_vm(vm: virtualmachine_pb2.VirtualMachine) -> WorkloadInfo:
    """Decode a VirtualMachine: vcpus and memory, disks count as ephemeral storage."""
    meta, spec = vm.metadata, vm.spec
    where = f"virtualmachine {meta.namespace}/{meta.name}"
    try:
        memory = amount(spec.memory)
    except QuantityError as err:
        raise WorkloadError(f"{where}: spec.memory: {err}") from None
    disks = 0
    for index, disk in enumerate(spec.disks):
        try:
            disks += amount(disk.size)
        except QuantityError as err:
            raise WorkloadError(f"{where}: spec.disks[{index}].size: {err}") from None
    hv_type = spec.hypervisor.type or "any"
    if hv_type not in ("any", "type1", "type2"):
        raise WorkloadError(f"{where}: spec.hypervisor.type: {bounded_repr(hv_type)} is not any, type1 or type2")
    guest = spec.guest.os or "linux"
    return WorkloadInfo(
        kind=VM,
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        resource_version=meta.resource_version,
        generation=meta.generation,
        labels=MappingProxyType(dict(meta.labels)),
        node_name=spec.node_name,
        cpu_millis=spec.vcpus * 1000,
        memory=memory,
        ephemeral=disks,
        os=guest,
        guest_os=guest,
        hypervisor_type=hv_type,
        claims=claims_of(vm),
        cpu_model=spec.cpu_model,
        local_disks=tuple(d.name for d in spec.disks if not d.persistent_volume_claim and not d.read_only),
        **_placement(spec.scheduling, where),
    )


def _windows(spec: pod_pb2.PodSpec, where: str) -> tuple[Isolation, WindowsBuild | None]:
    mode = spec.windows.isolation or ("hostprocess" if any(c.host_process for c in spec.containers) else "process")
    try:
        isolation = Isolation(mode)
    except ValueError:
        raise WorkloadError(
            f"{where}: spec.windows.isolation: {bounded_repr(mode)} is not process, hyperv or hostprocess"
        ) from None
    if spec.windows.image_build:
        try:
            return isolation, parse_build(spec.windows.image_build)
        except BuildError as err:
            raise WorkloadError(f"{where}: spec.windows.image_build: {err}") from None
    builds = {b for b in (build_from_image(c.image) for c in spec.containers) if b is not None}
    return isolation, (min(builds, key=lambda b: b.build) if len(builds) == 1 else None)


class _PlacementFields(TypedDict):
    priority: int
    node_selector: Selector
    required_terms: tuple[Selector, ...] | None
    preferred_terms: tuple[PreferredTerm, ...]
    tolerations: tuple[Toleration, ...]
    spread: tuple[SpreadConstraint, ...]
    anti_affinity: tuple[AntiAffinityTerm, ...]


def _placement(sched: scheduling_pb2.Scheduling, where: str) -> _PlacementFields:
    try:
        node_aff = sched.affinity.node_affinity
        required = None
        if node_aff.HasField("required_during_scheduling_ignored_during_execution"):
            terms = node_aff.required_during_scheduling_ignored_during_execution.node_selector_terms
            required = tuple(_term(t) for t in terms)
        preferred = tuple(
            PreferredTerm(p.weight, _term(p.preference))
            for p in node_aff.preferred_during_scheduling_ignored_during_execution
        )
        spread = tuple(
            SpreadConstraint(
                max(1, c.max_skew),
                c.topology_key,
                (c.when_unsatisfiable or "DoNotSchedule") == "DoNotSchedule",
                selector_from_proto(c.label_selector),
            )
            for c in sched.topology_spread_constraints
        )
        anti = tuple(
            AntiAffinityTerm(selector_from_proto(t.label_selector), t.topology_key)
            for t in sched.affinity.workload_anti_affinity.required_during_scheduling_ignored_during_execution
        )
    except (SelectorError, LabelSelectorError) as err:
        raise WorkloadError(f"{where}: spec.scheduling: {err}") from None
    return {
        "priority": sched.priority,
        "node_selector": from_match_labels(dict(sched.node_selector)),
        "required_terms": required,
        "preferred_terms": preferred,
        "tolerations": tuple(Toleration(t.key, t.operator or "Equal", t.value, t.effect) for t in sched.tolerations),
        "spread": spread,
        "anti_affinity": anti,
    }


def _term(term: scheduling_pb2.NodeSelectorTerm) -> Selector:
    return Selector(tuple(requirement(r.key, r.operator, r.values) for r in term.match_expressions))
