"""Every metric the node agent exports, on its own registry (under `atoll up` several components
share one process, each serving its own /metrics port).

One registry serves every node the process runs: one for ``atoll-agent``, the whole fleet for a
hollow agent. Per-node series carry a ``node`` label; the rest are summed over the process's nodes
(a real agent runs one node, so its scrape target already names it).

Label values:
- ``kind``: Pod or VirtualMachine; for restarts, ``container`` or ``vm``.
- ``probe``: startup, liveness or readiness; ``result``: successful or failed.
- ``phase``: the phase the agent last wrote to the workload's status: Pending, Running, Succeeded,
  Failed (pods); Scheduled, Starting, Running, Paused, Stopping, Stopped, Failed (VMs).
- ``driver``: the task driver (sim-linux, sim-windows, sim-hypervisor, crun, qemu, ...);
  ``operation``: the driver call (start, stop, destroy, inspect, pause, resume, fingerprint).
- ``node``: the Node's name; ``namespace``, ``name``: the workload's.

Workload, capacity and allocation series are computed on each scrape from the live node agents
(``NODES``), so they never drift from what the agent holds.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry(auto_describe=True)

# Simulated drivers answer in microseconds; crun starts a container in 50-500 ms; QEMU boots and
# QMP shutdowns with a grace period take seconds to a minute.
_DRIVER_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# A lease renewal is one Update round trip (1-10 ms on a healthy API server); the node-lifecycle
# grace period is 40 s, so the top buckets show renewals close to being too late.
_LEASE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)

DRIVER_OPERATION_DURATION = Histogram(
    "atoll_agent_driver_operation_duration_seconds",
    "Latency of one task-driver call, by driver and operation (start, stop, destroy, inspect, pause, "
    "resume, fingerprint).",
    ("driver", "operation"),
    buckets=_DRIVER_BUCKETS,
    registry=REGISTRY,
)
DRIVER_OPERATION_ERRORS = Counter(
    "atoll_agent_driver_operation_errors_total",
    "Task-driver calls that raised a driver error (cannot run, start failed, task not found, ...), "
    "by driver and operation.",
    ("driver", "operation"),
    registry=REGISTRY,
)
RESTARTS = Counter(
    "atoll_agent_restarts_total",
    "Containers (kind=container) and virtual machines (kind=vm) started again after they ended, "
    "summed over the process's nodes.",
    ("kind",),
    registry=REGISTRY,
)
VOLUME_ATTACH_DURATION = Histogram(
    "atoll_agent_volume_attach_duration_seconds",
    "Time to make a workload's claimed volumes ready on its node (resolve the claims, make the data on first use).",
    buckets=_DRIVER_BUCKETS,
    registry=REGISTRY,
)
VOLUME_ATTACH_ERRORS = Counter(
    "atoll_agent_volume_attach_errors_total",
    "Workload starts held back by a claimed volume, by reason: VolumeNotReady (retried) or VolumeUnusable.",
    ("reason",),
    registry=REGISTRY,
)
LEASE_RENEWAL_DURATION = Histogram(
    "atoll_agent_lease_renewal_duration_seconds",
    "Latency of one node Lease renewal (an Update, or a Create when the Lease was missing).",
    buckets=_LEASE_BUCKETS,
    registry=REGISTRY,
)
LEASE_RENEWAL_FAILURES = Counter(
    "atoll_agent_lease_renewal_failures_total",
    "Node Lease renewals the API server refused or failed; the node turns NotReady when they last "
    "longer than the grace period.",
    registry=REGISTRY,
)
# One nft transaction replaces the Service table: ~10 ms for a few Services, ~0.1-0.5 s for
# thousands of endpoints (tests/bench/node_rules.py).
_NFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROXY_SYNC_DURATION = Histogram(
    "atoll_agent_proxy_sync_duration_seconds",
    "Latency of one successful nft transaction replacing the node's Service table (real nodes only).",
    buckets=_NFT_BUCKETS,
    registry=REGISTRY,
)
PROXY_SYNC_FAILURES = Counter(
    "atoll_agent_proxy_sync_failures_total",
    "nft transactions of the Service table that failed (retried; the table keeps its previous rules).",
    registry=REGISTRY,
)
ROUTE_SYNC_FAILURES = Counter(
    "atoll_agent_route_sync_failures_total",
    "Route changes towards other nodes' pod CIDRs that the kernel refused (retried), e.g. a node "
    "address that is not on a directly connected network.",
    registry=REGISTRY,
)
for _kind in ("container", "vm"):
    RESTARTS.labels(_kind)
PROBE_RESULTS = Counter(
    "atoll_agent_probe_results_total",
    "Probe attempts of containers and VMs (kubelet's prober_probe_total), by probe (startup, liveness, "
    "readiness) and result (successful, failed), summed over the process's nodes.",
    ("probe", "result"),
    registry=REGISTRY,
)
# exec/attach/console/port-forward sessions (agent/sessions/): seconds to hours.
_SESSION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 14400.0)
SESSIONS_OPEN = Gauge(
    "atoll_agent_sessions_open",
    "Sessions into workloads open now, by capability (exec, attach, console, port-forward).",
    ("capability",),
    registry=REGISTRY,
)
SESSION_BYTES = Counter(
    "atoll_agent_session_bytes_total",
    "Bytes carried by sessions, by capability and direction (in: to the workload, out: from it).",
    ("capability", "direction"),
    registry=REGISTRY,
)
SESSION_DURATION = Histogram(
    "atoll_agent_session_duration_seconds",
    "How long sessions into workloads lasted, by capability.",
    ("capability",),
    buckets=_SESSION_BUCKETS,
    registry=REGISTRY,
)
SESSIONS_REFUSED = Counter(
    "atoll_agent_sessions_refused_total",
    "Sessions refused because the node had its maximum open.",
    registry=REGISTRY,
)
for _probe in ("startup", "liveness", "readiness"):
    for _result in ("successful", "failed"):
        PROBE_RESULTS.labels(_probe, _result)
IMAGE_PULLS = Counter(
    "atoll_agent_image_pulls_total",
    "Image pulls that asked a registry, by result: pulled (downloaded and unpacked), unchanged (the "
    "registry named a digest already stored), failed (the container waits in ErrImagePull).",
    ("result",),
    registry=REGISTRY,
)
for _result in ("pulled", "unchanged", "failed"):
    IMAGE_PULLS.labels(_result)
IMAGE_PULL_DURATION = Histogram(
    "atoll_agent_image_pull_duration_seconds",
    "Time of a pull that downloaded an image: digest lookup, skopeo copy and unpacking into the store.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0),
    registry=REGISTRY,
)
IMAGE_PULL_BYTES = Counter(
    "atoll_agent_image_pull_bytes_total",
    "Bytes added to the nodes' shared blob caches by pulls (a layer already cached costs nothing).",
    registry=REGISTRY,
)
IMAGES_COLLECTED = Counter(
    "atoll_agent_images_collected_total",
    "Pulled images removed from a node's store because pulled images took more than the node's "
    "limit and no task used them.",
    registry=REGISTRY,
)
IMAGE_CACHE_BYTES = Gauge(
    "atoll_agent_image_cache_bytes",
    "Size of the shared blob cache of the last node that pulled, after trimming to its limit.",
    registry=REGISTRY,
)


@dataclass(frozen=True)
class WorkloadSample:
    """One workload bound to a node, as its runner sees it now. ``phase_since``: Unix time the
    phase was entered. ``active``: it holds node resources (not Succeeded, Failed or Stopped)."""

    kind: str
    namespace: str
    name: str
    phase: str
    phase_since: float
    crash_looping: bool
    active: bool
    cpu_millis: int
    memory_bytes: int


@dataclass(frozen=True)
class NodeSample:
    """One node's registered capacity and allocatable (cpu in millicores, memory in bytes) and its
    workloads."""

    node: str
    capacity: tuple[int, int, int]  # cpu millis, memory bytes, pods
    allocatable: tuple[int, int, int]
    workloads: tuple[WorkloadSample, ...] = field(default_factory=tuple)


Sampler = Callable[[], NodeSample | None]
VM_TRANSITION_PHASES = ("Starting", "Stopping")

# (name, help) of each per-node resource family, in NodeSample tuple order.
_CAPACITY = (
    ("atoll_agent_node_cpu_capacity_cores", "CPU the node has, in cores."),
    ("atoll_agent_node_memory_capacity_bytes", "Memory the node has, in bytes."),
    ("atoll_agent_node_pods_capacity", "Workload slots the node has (pods and VMs take one each)."),
)
_ALLOCATABLE = (
    ("atoll_agent_node_cpu_allocatable_cores", "CPU the scheduler may place on the node (capacity - reserved), cores."),
    ("atoll_agent_node_memory_allocatable_bytes", "Memory the scheduler may place on the node, in bytes."),
    ("atoll_agent_node_pods_allocatable", "Workload slots the scheduler may fill on the node."),
)
_ALLOCATED = (
    ("atoll_agent_node_cpu_allocated_cores", "CPU requested by the node's active workloads, in cores."),
    ("atoll_agent_node_memory_allocated_bytes", "Memory requested by the node's active workloads, in bytes."),
    ("atoll_agent_node_pods_allocated", "Active workloads (pods and VMs) on the node."),
)


class NodeCollector(Collector):
    """Computes the per-node and per-workload series on each scrape from registered samplers.

    A NodeAgent registers a sampler when it starts and removes it when it closes. Scrapes run on
    the metrics server's thread; samplers only read (snapshots of dicts, immutable messages), and a
    sampler that fails is skipped for that scrape.
    """

    def __init__(self) -> None:
        self._samplers: dict[str, Sampler] = {}

    def add(self, node: str, sampler: Sampler) -> None:
        self._samplers[node] = sampler

    def remove(self, node: str) -> None:
        self._samplers.pop(node, None)

    def samples(self) -> list[NodeSample]:
        result = []
        for node, sampler in list(self._samplers.items()):
            try:
                sample = sampler()
            except Exception as err:  # a racing update must not break the whole scrape
                log.debug("metrics sample of node %s failed: %s", node, err)
                continue
            if sample is not None:
                result.append(sample)
        return result

    def describe(self) -> Iterator[GaugeMetricFamily]:
        workloads, capacity, allocatable, allocated, crash_looping, transitions = self._families()
        yield workloads
        yield from (*capacity, *allocatable, *allocated)
        yield crash_looping
        yield transitions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        workloads, capacity, allocatable, allocated, crash_looping, transitions = families
        phases: Tally[tuple[str, str]] = Tally()
        for sample in self.samples():
            cpu, memory, slots = 0, 0, 0
            for workload in sample.workloads:
                phases[(workload.kind, workload.phase)] += 1
                if workload.active:
                    cpu, memory, slots = cpu + workload.cpu_millis, memory + workload.memory_bytes, slots + 1
                if workload.crash_looping:
                    crash_looping.add_metric([sample.node, workload.kind, workload.namespace, workload.name], 1)
                if workload.kind == "VirtualMachine" and workload.phase in VM_TRANSITION_PHASES:
                    transitions.add_metric(
                        [sample.node, workload.namespace, workload.name, workload.phase], workload.phase_since
                    )
            _add_resources(capacity, sample.node, sample.capacity)
            _add_resources(allocatable, sample.node, sample.allocatable)
            _add_resources(allocated, sample.node, (cpu, memory, slots))
        for (kind, phase), count in sorted(phases.items()):
            workloads.add_metric([kind, phase], count)
        yield workloads
        yield from capacity
        yield from allocatable
        yield from allocated
        yield crash_looping
        yield transitions

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily,
        list[GaugeMetricFamily],
        list[GaugeMetricFamily],
        list[GaugeMetricFamily],
        GaugeMetricFamily,
        GaugeMetricFamily,
    ]:
        def per_node(table: Iterable[tuple[str, str]]) -> list[GaugeMetricFamily]:
            return [GaugeMetricFamily(name, text, labels=["node"]) for name, text in table]

        return (
            GaugeMetricFamily(
                "atoll_agent_workloads",
                "Workloads bound to the process's nodes, by kind and the phase the agent last wrote.",
                labels=["kind", "phase"],
            ),
            per_node(_CAPACITY),
            per_node(_ALLOCATABLE),
            per_node(_ALLOCATED),
            GaugeMetricFamily(
                "atoll_agent_crash_looping",
                "1 for each workload waiting in CrashLoopBackOff (a container, or the VM, ended and waits "
                "for its restart back-off); absent otherwise.",
                labels=["node", "kind", "namespace", "name"],
            ),
            GaugeMetricFamily(
                "atoll_agent_vm_transition_started_timestamp_seconds",
                "Unix time a virtual machine entered its current Starting or Stopping phase; only VMs in "
                "those phases have a series (alert on time() minus this).",
                labels=["node", "namespace", "name", "phase"],
            ),
        )


def _add_resources(families: list[GaugeMetricFamily], node: str, values: tuple[int, int, int]) -> None:
    cpu_millis, memory, slots = values
    for family, value in zip(families, (cpu_millis / 1000, float(memory), float(slots)), strict=True):
        family.add_metric([node], value)


NODES = NodeCollector()
REGISTRY.register(NODES)
