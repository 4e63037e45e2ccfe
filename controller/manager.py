"""Builds the controllers of one process on shared informers and runs them until cancelled.

``CONTROLLERS`` is the one registry from controller name to factory; ``--controllers`` selects
from it. Every controller gets its own work queue and ``workers`` coroutines; all share one
informer per kind, so the process keeps one watch per kind however many controllers read it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from atoll import namespaces
from atoll.cidrs import DEFAULT_CLUSTER_CIDR, DEFAULT_NODE_MASK_SIZE, check_cluster_cidr
from atoll.client import Client
from atoll.clock import Clock
from atoll.ports import ApiObject
from atoll.v1 import (
    deployment_pb2,
    lease_pb2,
    migration_pb2,
    node_pb2,
    pod_pb2,
    service_pb2,
    storage_pb2,
    virtualmachine_pb2,
)
from controller.controllers.deployment.reconciler import DeploymentController
from controller.controllers.endpoints.reconciler import EndpointsController
from controller.controllers.garbage_collector.reconciler import GarbageCollector
from controller.controllers.migration.policy import MigrationPolicy
from controller.controllers.migration.reconciler import MigrationController
from controller.controllers.node_ipam.allocator import NodeRangeAllocator
from controller.controllers.node_ipam.reconciler import NodeIpamController
from controller.controllers.node_lifecycle.reconciler import (
    LEASE_NAMESPACE,
    NodeLifecycleController,
    NodeLifecycleOptions,
)
from controller.controllers.virtualmachine.reconciler import VirtualMachineController
from controller.controllers.volume_binding.reconciler import VolumeBindingController
from controller.controllers.workloads import Workload
from controller.runtime import metrics
from controller.runtime.informer import ObjectCache
from controller.runtime.reconciler import Reconciler
from controller.runtime.reconciler_runner import ReconcilerRunner
from controller.runtime.shared_informers import SharedInformers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControllerOptions:
    """What ``atoll-controller`` flags (and ``atoll up``) can set."""

    controllers: tuple[str, ...] = (
        "deployment",
        "node-lifecycle",
        "garbage-collector",
        "virtualmachine",
        "node-ipam",
        "volume-binding",
        "endpoints",
        "migration",
    )
    workers: int = 4
    node_grace_period: float = 40.0
    default_toleration_seconds: float = 300.0
    eviction_events: bool = True
    leader_elect: bool = False
    lease_name: str = "atoll-controller"
    lease_namespace: str = namespaces.SYSTEM
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str = ""
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR
    node_cidr_mask_size: int = DEFAULT_NODE_MASK_SIZE
    # Where the shared volume dir is mounted here ("" when it is not): see volume_binding.
    shared_storage_dir: str = ""
    migration_policy: MigrationPolicy = field(default_factory=MigrationPolicy)


Factory = Callable[[Client, SharedInformers, Clock, ControllerOptions], Reconciler]


def _workloads(informers: SharedInformers) -> dict[str, ObjectCache[Workload]]:
    """The Pod and VirtualMachine informers, by kind name."""
    return {
        "Pod": informers.informer(pod_pb2.Pod),
        "VirtualMachine": informers.informer(virtualmachine_pb2.VirtualMachine),
    }


def _deployment(client: Client, informers: SharedInformers, clock: Clock, options: ControllerOptions) -> Reconciler:
    return DeploymentController(client, informers.informer(deployment_pb2.Deployment), _workloads(informers), clock)


def _node_lifecycle(client: Client, informers: SharedInformers, clock: Clock, options: ControllerOptions) -> Reconciler:
    settings = NodeLifecycleOptions(
        options.node_grace_period, options.default_toleration_seconds, options.eviction_events
    )
    nodes = informers.informer(node_pb2.Node)
    leases = informers.informer(lease_pb2.Lease, LEASE_NAMESPACE)
    return NodeLifecycleController(client, nodes, leases, _workloads(informers), clock, settings)


def _garbage_collector(
    client: Client, informers: SharedInformers, clock: Clock, options: ControllerOptions
) -> Reconciler:
    watched: dict[str, ObjectCache[ApiObject]] = {
        "Deployment": informers.informer(deployment_pb2.Deployment),
        "Service": informers.informer(service_pb2.Service),
        "Endpoints": informers.informer(service_pb2.Endpoints),
        **_workloads(informers),
    }
    return GarbageCollector(client, watched, clock)


def _virtualmachine(client: Client, informers: SharedInformers, clock: Clock, options: ControllerOptions) -> Reconciler:
    return VirtualMachineController(client, informers.informer(virtualmachine_pb2.VirtualMachine), clock)


def _node_ipam(client: Client, informers: SharedInformers, clock: Clock, options: ControllerOptions) -> Reconciler:
    network = check_cluster_cidr(options.cluster_cidr, options.node_cidr_mask_size)
    allocator = NodeRangeAllocator(network, options.node_cidr_mask_size)
    return NodeIpamController(client, informers.informer(node_pb2.Node), allocator, clock)


def _volume_binding(
    client: Client, informers: SharedInformers, clock: Clock, options: ControllerOptions
) -> Reconciler:
    return VolumeBindingController(
        client,
        informers.informer(storage_pb2.PersistentVolumeClaim),
        informers.informer(storage_pb2.PersistentVolume),
        informers.informer(storage_pb2.StorageClass),
        _workloads(informers),
        informers.informer(node_pb2.Node),
        clock,
        shared_dir=Path(options.shared_storage_dir) if options.shared_storage_dir else None,
    )


def _migration(client: Client, informers: SharedInformers, clock: Clock, options: ControllerOptions) -> Reconciler:
    return MigrationController(
        client,
        informers.informer(migration_pb2.VirtualMachineMigration),
        informers.informer(virtualmachine_pb2.VirtualMachine),
        clock,
        options.migration_policy,
    )


def _endpoints(client: Client, informers: SharedInformers, clock: Clock, options: ControllerOptions) -> Reconciler:
    services = informers.informer(service_pb2.Service)
    endpoints = informers.informer(service_pb2.Endpoints)
    return EndpointsController(client, services, endpoints, _workloads(informers), clock)


CONTROLLERS: dict[str, Factory] = {
    "deployment": _deployment,
    "node-lifecycle": _node_lifecycle,
    "garbage-collector": _garbage_collector,
    "virtualmachine": _virtualmachine,
    "node-ipam": _node_ipam,
    "volume-binding": _volume_binding,
    "endpoints": _endpoints,
    "migration": _migration,
}


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    """The selected controller names in registry order; ValueError naming the unknown ones."""
    unknown = [name for name in names if name not in CONTROLLERS]
    if unknown:
        raise ValueError(f"unknown controller(s) {', '.join(unknown)}; known: {', '.join(CONTROLLERS)}")
    return tuple(name for name in CONTROLLERS if name in names)


async def run_all(client: Client, clock: Clock, options: ControllerOptions) -> None:
    """Build, sync and run the selected controllers until cancelled; always cleans up."""
    informers = SharedInformers(client, clock)
    reconcilers = [CONTROLLERS[name](client, informers, clock, options) for name in check_names(options.controllers)]
    runners = [ReconcilerRunner(reconciler, options.workers) for reconciler in reconcilers]
    informers.start()
    try:
        await informers.wait_synced()
        for runner in runners:
            runner.start()
        log.info("controllers running: %s", ", ".join(reconciler.name for reconciler in reconcilers))
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.stop()
        await informers.stop()
        metrics.NODE_READY.clear()  # only a running (leading) manager speaks for the nodes
