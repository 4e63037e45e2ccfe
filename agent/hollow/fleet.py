"""Fleet files: how many simulated nodes of which shape a hollow agent runs.

::

    nodes:
    - count: 2000
      namePrefix: lnx-
      os: linux
      cpu: "16"
      memory: 64Gi
      labels: {zone: a}
    - count: 500
      namePrefix: w22-
      os: windows
      osBuild: "10.0.20348"
      isolation: [process, hyperv]
    - count: 100
      namePrefix: kvm-
      os: linux
      hypervisor: {type: type1, name: kvm}
      taints: [{key: dedicated, value: vms, effect: NoSchedule}]
    - count: 8
      namePrefix: gpu-
      extendedResources: {nvidia.com/gpu: 4}

Other keys per group: ``pods``, ``arch``, ``reserved`` ({cpu, memory}), ``startLatency`` and
``failureRate`` (of the simulated runtimes), ``failProbes`` (the probes its workloads fail unless
their ``sim.atoll.dev/fail-probes`` annotation says otherwise: ``readiness``, ``liveness:60``;
agent/drivers/sim/probes.py), and under ``hypervisor``: ``nested``, ``guestOs``,
``bootSeconds``, ``migrationBandwidth`` (bytes per second of its simulated live migration link, a
quantity; default 1Gi; agent/drivers/sim/migration_model.py). ``localStorage``: room for local
persistent volumes (default 100Gi; 0: none).
``imagePullSeconds`` and ``missingImages`` (shell patterns of normalised references, such as
``*/ghost:*``): a simulated registry, so pods go through Pulling/Pulled, ErrImagePull and
ImagePullBackOff (agent/images/sim_images.py).
``storageClasses``: room per local storage class (``{fast: 20Gi}``, reported as
``class.storage.atoll.dev/fast``): once any node declares room for a class, that class's volumes
are placed and provisioned by it alone, the other local classes by ``localStorage``
(atoll/storage.py: local_pool).
``extendedResources``: whole units per extended resource name (any name but
cpu, memory, pods and ephemeral-storage; atoll/extended_resources.py). Errors name the file, the
group index and the field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.config import RESERVED_DEFAULT
from agent.drivers.sim.hypervisor import HypervisorProfile
from agent.drivers.sim.probes import FailProbesError, parse_fail_probes
from atoll import storage
from atoll.extended_resources import ExtendedResourceError, is_extended, whole_units
from atoll.labels import label_key_problem
from atoll.node_restriction import RESTRICTED_LABEL_DOMAINS, restricted_labels
from atoll.quantity import QuantityError, parse_quantity
from atoll.user_text import bounded_repr

_GROUP_KEYS = {"count", "namePrefix", "os", "osBuild", "cpu", "memory", "pods", "ephemeralStorage", "arch",
               "labels", "taints", "isolation", "hypervisor", "reserved", "startLatency", "failureRate",
               "extendedResources", "failProbes", "localStorage", "imagePullSeconds", "missingImages",
               "storageClasses"}
_HYPERVISOR_KEYS = {"type", "name", "nested", "guestOs", "bootSeconds", "migrationBandwidth"}


class FleetError(ValueError):
    """A fleet file that cannot be used; one line naming file, group and field."""


@dataclass(frozen=True)
class NodeGroup:
    count: int
    name_prefix: str
    os: str = "linux"
    os_build: str = ""
    cpu: str = "8"
    memory: str = "32Gi"
    pods: str = "110"
    ephemeral_storage: str = "200Gi"
    arch: str = "amd64"
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[tuple[str, str, str], ...] = ()
    isolation: tuple[str, ...] = ()
    hypervisor: HypervisorProfile | None = None
    reserved: Mapping[str, str] = field(default_factory=lambda: dict(RESERVED_DEFAULT))
    start_latency: float = 0.0
    failure_rate: float = 0.0
    extended_resources: Mapping[str, str] = field(default_factory=dict)
    fail_probes: str = ""
    # Room for local persistent volumes (reported as storage.atoll.dev/local); "" or "0": none.
    local_storage: str = "100Gi"
    # A simulated registry (agent/images/sim_images.py): pull time, references it does not know.
    image_pull_seconds: float = 0.0
    missing_images: tuple[str, ...] = ()
    # Room per local storage class (class name -> quantity; class.storage.atoll.dev/CLASS).
    class_storage: Mapping[str, str] = field(default_factory=dict)

    def names(self) -> Iterator[str]:
        width = max(4, len(str(self.count - 1)))
        for index in range(self.count):
            yield f"{self.name_prefix}{index:0{width}d}"


_DEFAULTS = NodeGroup(count=0, name_prefix="")  # what a fleet file's group leaves out


@dataclass(frozen=True)
class FleetSpec:
    groups: tuple[NodeGroup, ...]

    @property
    def total(self) -> int:
        return sum(group.count for group in self.groups)


def default_fleet(nodes: int) -> FleetSpec:
    """A small mixed fleet: about 60% Linux, 20% Windows Server 2022 (process, Hyper-V and
    HostProcess isolation), 20% Linux with a type 1 hypervisor and 1 TiB of VM disk; each kind
    present once ``nodes`` >= 3. Labels follow atoll's well-known keys (zone, disk, memory size) so the sample manifests
    in deploy/examples/ can express affinity against it."""
    if nodes <= 0:
        return FleetSpec(())
    windows = max(1, nodes * 2 // 10) if nodes >= 3 else 0
    kvm = max(1, nodes * 2 // 10) if nodes >= 3 else 0
    linux = nodes - windows - kvm
    zone = "topology.atoll.dev/zone"
    groups = [
        NodeGroup(linux, "sim-lnx-", cpu="8", memory="32Gi",
                  labels={zone: "zone-a", "disk": "ssd", "atoll.dev/memory-gib": "32"}),
        NodeGroup(windows, "sim-w22-", os="windows", os_build="10.0.20348", cpu="8", memory="32Gi",
                  isolation=("process", "hyperv", "hostprocess"), labels={zone: "zone-b"}),
        NodeGroup(kvm, "sim-kvm-", cpu="32", memory="128Gi", ephemeral_storage="1Ti",
                  hypervisor=HypervisorProfile(type="type1", name="kvm"),
                  labels={zone: "zone-b", "disk": "ssd", "atoll.dev/memory-gib": "128"}),
    ]
    return FleetSpec(tuple(group for group in groups if group.count > 0))


def load_fleet(path: str | Path) -> FleetSpec:
    """Read and check a fleet file; FleetError on any problem."""
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise FleetError(f"{source}: cannot read the fleet file: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise FleetError(f"{source}: not valid YAML: {str(err).splitlines()[0]}") from None
    return parse_fleet(data, source)


def parse_fleet(data: Any, source: str = "fleet") -> FleetSpec:
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise FleetError(f"{source}: expected a mapping with a list under 'nodes'")
    groups = tuple(_group(raw, f"{source}: nodes[{index}]") for index, raw in enumerate(data["nodes"]))
    prefixes = [group.name_prefix for group in groups]
    for prefix in prefixes:
        clashing = [other for other in prefixes if other != prefix and other.startswith(prefix)]
        if prefixes.count(prefix) > 1 or clashing:
            raise FleetError(f"{source}: namePrefix {prefix!r} is used by more than one group")
    return FleetSpec(groups)


def _group(raw: Any, where: str) -> NodeGroup:
    if not isinstance(raw, dict):
        raise FleetError(f"{where}: expected a mapping")
    unknown = sorted(set(raw) - _GROUP_KEYS)
    if unknown:
        raise FleetError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_GROUP_KEYS))})")
    count = raw.get("count")
    if not isinstance(count, int) or count < 0:
        raise FleetError(f"{where}.count: must be a whole number >= 0, got {count!r}")
    prefix = raw.get("namePrefix")
    if not isinstance(prefix, str) or not prefix:
        raise FleetError(f"{where}.namePrefix: required (e.g. lnx-)")
    os_name = str(raw.get("os", "linux"))
    if os_name not in ("linux", "windows"):
        raise FleetError(f"{where}.os: must be linux or windows, got {os_name!r}")
    for key in ("cpu", "memory", "pods", "ephemeralStorage", "localStorage"):
        if key in raw:
            _quantity(str(raw[key]), f"{where}.{key}")
    isolation = tuple(str(mode) for mode in raw.get("isolation", ["process"] if os_name == "windows" else []))
    for mode in isolation:
        if mode not in ("process", "hyperv", "hostprocess"):
            raise FleetError(f"{where}.isolation: {mode!r} is not process, hyperv or hostprocess")
    if isolation and os_name != "windows":
        raise FleetError(f"{where}.isolation: only for os: windows")
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
    restricted = restricted_labels(labels)
    if restricted:
        raise FleetError(f"{where}.labels: {bounded_repr(restricted[0])}: a node may not set labels with the prefixes "
                         f"{', '.join(RESTRICTED_LABEL_DOMAINS)}* on itself (an operator sets them on the Node)")
    return NodeGroup(
        count=count,
        name_prefix=prefix,
        os=os_name,
        os_build=str(raw.get("osBuild", "10.0.20348" if os_name == "windows" else "")),
        cpu=str(raw.get("cpu", _DEFAULTS.cpu)),
        memory=str(raw.get("memory", _DEFAULTS.memory)),
        pods=str(raw.get("pods", _DEFAULTS.pods)),
        ephemeral_storage=str(raw.get("ephemeralStorage", _DEFAULTS.ephemeral_storage)),
        arch=str(raw.get("arch", _DEFAULTS.arch)),
        labels=labels,
        taints=tuple(_taint(t, f"{where}.taints[{i}]") for i, t in enumerate(raw.get("taints") or [])),
        isolation=isolation,
        hypervisor=_hypervisor(raw["hypervisor"], f"{where}.hypervisor") if raw.get("hypervisor") else None,
        reserved={str(k): str(v) for k, v in (raw.get("reserved") or dict(RESERVED_DEFAULT)).items()},
        start_latency=float(raw.get("startLatency", _DEFAULTS.start_latency)),
        failure_rate=float(raw.get("failureRate", _DEFAULTS.failure_rate)),
        extended_resources=_extended(raw.get("extendedResources"), f"{where}.extendedResources"),
        fail_probes=_fail_probes(raw.get("failProbes", ""), f"{where}.failProbes"),
        local_storage=str(raw.get("localStorage", _DEFAULTS.local_storage)),
        image_pull_seconds=_seconds(raw.get("imagePullSeconds", 0.0), f"{where}.imagePullSeconds"),
        missing_images=_patterns(raw.get("missingImages") or [], f"{where}.missingImages"),
        class_storage=_class_storage(raw.get("storageClasses"), f"{where}.storageClasses"),
    )


def _seconds(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 3600:
        raise FleetError(f"{where}: {bounded_repr(str(raw))} is not a number of seconds from 0 to 3600")
    return float(raw)


def _patterns(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) and 0 < len(item) <= 512 for item in raw):
        raise FleetError(f"{where}: a list of image reference patterns (shell wildcards) is expected")
    return tuple(raw)


def _class_storage(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FleetError(f"{where}: expected a map of storage class name to quantity, e.g. {{fast: 20Gi}}")
    rooms: dict[str, str] = {}
    for name, size in raw.items():
        shown = bounded_repr(str(name))
        problem = label_key_problem(storage.class_capacity_resource(str(name))) if isinstance(name, str) else "not text"
        if problem:
            raise FleetError(f"{where}: {shown} cannot name a storage class's room: {problem}")
        _quantity(str(size), f"{where}.{name}")
        rooms[name] = str(size)
    return rooms


def _fail_probes(raw: Any, where: str) -> str:
    text = str(raw)
    try:
        parse_fail_probes(text)
    except FailProbesError as err:
        raise FleetError(f"{where}: {err}") from None
    return text


def _extended(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FleetError(f"{where}: expected a mapping such as {{nvidia.com/gpu: 2}}")
    units: dict[str, str] = {}
    for name, count in raw.items():
        shown = bounded_repr(str(name))
        if not isinstance(name, str) or not is_extended(name):
            raise FleetError(f"{where}: {shown} is not an extended resource name (cpu, memory, pods and "
                             "ephemeral-storage have fields of their own)")
        problem = label_key_problem(name)
        if problem:
            raise FleetError(f"{where}: invalid resource name {shown}: {problem}")
        try:
            units[name] = str(whole_units(str(count)))
        except ExtendedResourceError as err:
            raise FleetError(f"{where}[{name}]: {err}") from None
    return units


def _quantity(text: str, where: str) -> None:
    try:
        parse_quantity(text)
    except QuantityError as err:
        raise FleetError(f"{where}: {err}") from None


def _taint(raw: Any, where: str) -> tuple[str, str, str]:
    if not isinstance(raw, dict) or "key" not in raw:
        raise FleetError(f"{where}: expected {{key, value, effect}}")
    effect = str(raw.get("effect", "NoSchedule"))
    if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise FleetError(f"{where}.effect: must be NoSchedule, PreferNoSchedule or NoExecute, got {effect!r}")
    return str(raw["key"]), str(raw.get("value", "")), effect


def _hypervisor(raw: Any, where: str) -> HypervisorProfile:
    if not isinstance(raw, dict):
        raise FleetError(f"{where}: expected a mapping such as {{type: type1, name: kvm}}")
    unknown = sorted(set(raw) - _HYPERVISOR_KEYS)
    if unknown:
        raise FleetError(f"{where}: unknown field {unknown[0]!r}")
    kind = str(raw.get("type", "type1"))
    if kind not in ("type1", "type2"):
        raise FleetError(f"{where}.type: must be type1 or type2, got {kind!r}")
    return HypervisorProfile(
        type=kind,
        name=str(raw.get("name", "kvm" if kind == "type1" else "qemu-tcg")),
        nested=bool(raw.get("nested", False)),
        guest_os=tuple(str(g) for g in raw.get("guestOs", ["linux", "windows"])),
        boot_seconds=float(raw.get("bootSeconds", 2.0)),
        migration_bandwidth=_bandwidth(raw.get("migrationBandwidth", "1Gi"), f"{where}.migrationBandwidth"),
    )


def _bandwidth(raw: Any, where: str) -> int:
    """Bytes per second of a node group's live migration link, as a quantity (1Gi: 1 GiB/s)."""
    try:
        value = int(parse_quantity(str(raw)))
    except ValueError:
        shown = str(raw)[:40]
        raise FleetError(f"{where}: expected a quantity of bytes per second such as 1Gi, got {shown!r}") from None
    if value <= 0:
        raise FleetError(f"{where}: must be more than 0")
    return value
