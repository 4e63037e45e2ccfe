"""The Node object an agent registers: what the node is (a NodeProfile) plus what its drivers
found, with allocatable = capacity - reserved.

``register`` creates the Node, or, when it exists (an agent restart), rewrites its status only
when it differs and adds missing profile labels; ``spec`` (cordon, taints set by operators) is
never overwritten after creation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import grpc

from agent.config import RESERVED_DEFAULT
from agent.drivers.protocol import DriverFingerprint, HypervisorFacts
from atoll.annotations import AGENT_ENDPOINT_ANNOTATION
from atoll.client import ApiError, Client
from atoll.extended_resources import ExtendedResourceError, whole_units
from atoll.quantity import cpu_millis, to_bytes
from atoll.v1 import meta_pb2, node_pb2

AGENT_VERSION = "atoll-agent/0.1.0"
# Writes of the Node's labels and endpoint that lose to a concurrent write are tried this often.
METADATA_ATTEMPTS = 5
HOSTNAME_LABEL = "atoll.dev/hostname"
OS_LABEL = "atoll.dev/os"


@dataclass(frozen=True)
class NodeProfile:
    """What a node is. Quantities as strings (``cpu: "16"``, ``memory: 64Gi``). ``hypervisor``
    is the host's own finding, used when no driver declares one. ``endpoint``: where the agent
    serves logs (written as the ``atoll.dev/agent-endpoint`` annotation); its host must be
    ``address`` (or the node name), the only addresses the node registers."""

    name: str
    os: str = "linux"
    os_build: str = ""
    arch: str = "amd64"
    kernel: str = ""
    cpu: str = "4"
    memory: str = "8Gi"
    pods: str = "110"
    # Disk for workloads (container layers, VM disks); "" when unknown (not reported).
    ephemeral_storage: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[tuple[str, str, str], ...] = ()
    reserved: Mapping[str, str] = field(default_factory=lambda: dict(RESERVED_DEFAULT))
    address: str = ""
    hypervisor: HypervisorFacts | None = None
    endpoint: str = ""
    # Whole units per extended resource (``{"nvidia.com/gpu": "2"}``), reported as capacity and
    # allocatable alike (nothing of them is reserved).
    extended_resources: Mapping[str, str] = field(default_factory=dict)

    def extended_units(self) -> dict[str, int]:
        """``extended_resources`` as counts (for admission); a malformed count offers nothing."""
        return units_offered(self.extended_resources)


def units_offered(extended_resources: Mapping[str, str]) -> dict[str, int]:
    """Whole units per extended resource name; entries that are not whole numbers are left out
    (the API server refuses to store them anyway)."""
    units = {}
    for name, text in extended_resources.items():
        try:
            units[name] = whole_units(text)
        except ExtendedResourceError:
            continue
    return units


def format_memory(value: int) -> str:
    for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value and value % size == 0:
            return f"{value // size}{suffix}"
    return str(value)


def format_cpu(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def allocatable(capacity: Mapping[str, str], reserved: Mapping[str, str]) -> dict[str, str]:
    """capacity - reserved for cpu and memory (never below zero); other resources unchanged."""
    result = dict(capacity)
    if "cpu" in capacity:
        result["cpu"] = format_cpu(max(0, cpu_millis(capacity["cpu"]) - cpu_millis(reserved.get("cpu", "0"))))
    if "memory" in capacity:
        left = to_bytes(capacity["memory"]) - to_bytes(reserved.get("memory", "0"))
        result["memory"] = format_memory(max(0, left))
    return result


def node_status(profile: NodeProfile, drivers: Sequence[tuple[str, DriverFingerprint]]) -> node_pb2.NodeStatus:
    """The status a node with ``profile`` and these driver fingerprints reports."""
    status = node_pb2.NodeStatus()
    capacity = {**profile.extended_resources, "cpu": profile.cpu, "memory": profile.memory, "pods": profile.pods}
    if profile.ephemeral_storage:
        capacity["ephemeral-storage"] = profile.ephemeral_storage
    status.capacity.update(capacity)
    status.allocatable.update(allocatable(capacity, profile.reserved))
    healthy = [(name, fp) for name, fp in drivers if fp.healthy]
    info = status.node_info
    info.os, info.arch, info.kernel_version, info.agent_version = (
        profile.os, profile.arch, profile.kernel, AGENT_VERSION
    )
    info.os_build = next((fp.os_build for _, fp in healthy if fp.os_build), profile.os_build)
    hypervisor = next((fp.hypervisor for _, fp in healthy if fp.hypervisor), None) or profile.hypervisor
    status.hypervisor.type = hypervisor.type if hypervisor else "none"
    if hypervisor is not None:
        status.hypervisor.name, status.hypervisor.nested = hypervisor.name, hypervisor.nested
        status.hypervisor.guest_os.extend(hypervisor.guest_os)
        status.hypervisor.per_vm_overhead_memory = hypervisor.per_vm_overhead_memory
        status.migration.accelerator = hypervisor.accelerator
        status.migration.live_migration = hypervisor.live_migration
        status.cpu_models.extend(hypervisor.cpu_models)
    modes = sorted({mode for _, fp in healthy for mode in fp.windows_isolation})
    status.windows_isolation.extend(modes)
    status.runtime_handlers.extend(name for name, _ in healthy)
    broken = [f"{name}: {fp.reason}" for name, fp in drivers if not fp.healthy]
    ready = meta_pb2.Condition(type="Ready", status="True", reason="AgentReady",
                               message="atoll-agent is running" + (f"; unhealthy drivers: {'; '.join(broken)}"
                                                                   if broken else ""))
    status.conditions.append(ready)
    if hypervisor is None or hypervisor.type == "none":
        why = hypervisor.reason if hypervisor else "no hypervisor driver"
        status.conditions.append(meta_pb2.Condition(type="HypervisorReady", status="False", reason="NoHypervisor",
                                                    message=why))
    elif hypervisor.reason:
        status.conditions.append(meta_pb2.Condition(type="HypervisorReady", status="True", reason="Degraded",
                                                    message=hypervisor.reason))
    if profile.address:
        status.addresses.add(type="InternalIP", address=profile.address)
    status.addresses.add(type="Hostname", address=profile.name)
    return status


def node_object(profile: NodeProfile, drivers: Sequence[tuple[str, DriverFingerprint]]) -> node_pb2.Node:
    node = node_pb2.Node()
    node.metadata.name = profile.name
    node.metadata.labels.update({HOSTNAME_LABEL: profile.name, OS_LABEL: profile.os, **profile.labels})
    if profile.endpoint:
        node.metadata.annotations[AGENT_ENDPOINT_ANNOTATION] = profile.endpoint
    for key, value, effect in profile.taints:
        node.spec.taints.add(key=key, value=value, effect=effect)
    node.status.CopyFrom(node_status(profile, drivers))
    return node


def same_status(stored: node_pb2.NodeStatus, wanted: node_pb2.NodeStatus) -> bool:
    """Equal apart from condition timestamps (which the comparison must not count as a change)."""
    def bare(status: node_pb2.NodeStatus) -> node_pb2.NodeStatus:
        copy = node_pb2.NodeStatus()
        copy.CopyFrom(status)
        for condition in copy.conditions:
            condition.ClearField("last_transition_time")
            condition.ClearField("last_heartbeat_time")
        return copy
    return bare(stored) == bare(wanted)


async def register(client: Client, wanted: node_pb2.Node, now_nanos: int) -> node_pb2.Node:
    """Create the Node, or bring an existing one (an agent restart) up to date: its status first
    (written only when it changed), then its profile labels and agent endpoint, which must lie
    within the addresses that status names (``atoll.node_restriction``: what a node may change about
    its own Node). Labels the node did not set (an operator's) are kept; spec is never written after
    creation. Returns the Node as stored."""
    for condition in wanted.status.conditions:
        condition.last_transition_time.FromNanoseconds(now_nanos)
    try:
        return (await client.create(wanted)).node
    except ApiError as err:
        if err.code != grpc.StatusCode.ALREADY_EXISTS:
            raise
    stored = (await client.get("Node", wanted.metadata.name)).node
    stored = await update_status(client, stored, wanted.status, now_nanos)
    return await _update_metadata(client, stored, wanted)


async def _update_metadata(client: Client, stored: node_pb2.Node, wanted: node_pb2.Node) -> node_pb2.Node:
    """Adds ``wanted``'s labels and agent endpoint to ``stored``; reads again and retries when an
    operator or controller wrote the Node in between (a cordon, a taint)."""
    for attempt in range(1, METADATA_ATTEMPTS + 1):
        missing = {k: v for k, v in wanted.metadata.labels.items() if stored.metadata.labels.get(k) != v}
        endpoint = wanted.metadata.annotations.get(AGENT_ENDPOINT_ANNOTATION, "")
        if not missing and (not endpoint or stored.metadata.annotations.get(AGENT_ENDPOINT_ANNOTATION) == endpoint):
            return stored
        stored.metadata.labels.update(missing)
        if endpoint:
            stored.metadata.annotations[AGENT_ENDPOINT_ANNOTATION] = endpoint
        try:
            return (await client.update(stored)).node
        except ApiError as err:
            if err.code != grpc.StatusCode.ABORTED or attempt == METADATA_ATTEMPTS:
                raise
        stored = (await client.get("Node", wanted.metadata.name)).node
    raise AssertionError("unreachable: the last attempt returns or raises")


async def update_status(client: Client, stored: node_pb2.Node, wanted: node_pb2.NodeStatus,
                        now_nanos: int) -> node_pb2.Node:
    """UpdateStatus when ``wanted`` differs from the stored status; keeps transition times of
    conditions whose status did not change, and the conditions other components own (the node
    IPAM controller's NetworkUnavailable) as they are."""
    reported = {condition.type for condition in wanted.conditions}
    wanted.conditions.extend(c for c in stored.status.conditions if c.type not in reported)
    if same_status(stored.status, wanted):
        return stored
    previous = {c.type: c for c in stored.status.conditions}
    for condition in wanted.conditions:
        before = previous.get(condition.type)
        if before is not None and before.status == condition.status:
            condition.last_transition_time.CopyFrom(before.last_transition_time)
        else:
            condition.last_transition_time.FromNanoseconds(now_nanos)
    node = node_pb2.Node()
    node.metadata.name = stored.metadata.name
    node.status.CopyFrom(wanted)
    return (await client.update_status(node)).node
