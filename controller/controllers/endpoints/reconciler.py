"""The endpoints controller: keeps an Endpoints object per Service with a selector, listing the
pods and VMs of the Service's namespace that the selector matches (subsets.py says how), and the
Service's endpoint counts in its status (Kubernetes' endpoints controller, VMs as peers of Pods).

reconcile(namespace/name of a Service):
- No such Service: its Endpoints (if any) is deleted; the garbage collector would also collect
  it through its owner reference.
- A Service without a selector: its Endpoints is left to whoever writes it (as in Kubernetes).
- Otherwise the desired subsets are computed from the informers' caches and the Endpoints is
  created (owned by the Service, so it goes with it) or updated with the revision read, only when
  it differs. A Service selecting nothing gets an Endpoints with no subsets: not an error.
- Then ``status.readyEndpoints``/``notReadyEndpoints`` of the Service are written when they differ.

Which Services a workload change concerns is found through indexes, never by scanning: Services
by each ``key=value`` of their selector, workloads by each of their labels, both within a
namespace. A workload change that alters nothing an Endpoints shows (labels, address, readiness,
phase, node, ports, deletion) queues nothing.

Writes not yet seen by the informer (expectations): a created Endpoints is expected until the
informer shows it, an updated one until the informer shows that revision; meanwhile the key is
not reconciled again (its own watch event queues it), so a lagging cache never causes a second
create or a write from a stale revision. Entries expire (runtime/expectations.py's ttl).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

import grpc

from atoll.client import ApiError
from atoll.clock import Clock
from atoll.ports import Creator, Deleter, StatusUpdater, Updater
from atoll.v1 import meta_pb2, pod_pb2, service_pb2
from atoll.watch_events import DELETED
from controller.controllers.endpoints.subsets import count_addresses, desired_subsets, selects
from controller.controllers.ownership import controller_of, controller_ref
from controller.controllers.workloads import Workload, is_ready
from controller.runtime import metrics
from controller.runtime.expectations import Expectations
from controller.runtime.informer import ObjectCache
from controller.runtime.keys import key_of, split_key
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

NAME = "endpoints"
SELECTOR_INDEX = "endpoints:selector"
LABEL_INDEX = "endpoints:labels"
log = logging.getLogger(__name__)


class EndpointsApi(Creator, Updater, StatusUpdater, Deleter, Protocol):
    """The API calls the controller makes (``atoll.client.Client`` satisfies it)."""


def label_pairs(namespace: str, labels: Iterable[tuple[str, str]]) -> list[str]:
    """Index values of ``labels`` within ``namespace``: ``ns/key=value`` each."""
    return [f"{namespace}/{key}={value}" for key, value in labels]


class EndpointsController:
    name = NAME

    def __init__(
        self,
        api: EndpointsApi,
        services: ObjectCache[service_pb2.Service],
        endpoints: ObjectCache[service_pb2.Endpoints],
        workloads: dict[str, ObjectCache[Workload]],
        clock: Clock,
        queue: WorkQueue | None = None,
    ) -> None:
        self.api = api
        self.services = services
        self.endpoints = endpoints
        self.workloads = workloads
        self.clock = clock
        self.queue = queue or WorkQueue(clock, name=NAME)
        self.expectations = Expectations(clock)
        self._written: dict[str, int] = {}  # key -> revision of our last Endpoints update
        services.add_index(SELECTOR_INDEX, lambda s: label_pairs(s.metadata.namespace, s.spec.selector.items()))
        for cache in workloads.values():
            cache.add_index(LABEL_INDEX, lambda w: label_pairs(w.metadata.namespace, w.metadata.labels.items()))
            cache.add_handler(self._on_workload)
        services.add_handler(self._on_service)
        endpoints.add_handler(self._on_endpoints)

    # -- handlers: map changes to Service keys ----------------------------------------------------

    def _on_service(self, event_type: str, service: service_pb2.Service, previous: service_pb2.Service | None) -> None:
        if previous is not None and previous.spec == service.spec:
            return  # its status (our own counts) or metadata: nothing the Endpoints derive from
        self.queue.add(key_of(service))

    def _on_endpoints(
        self, event_type: str, endpoints: service_pb2.Endpoints, previous: service_pb2.Endpoints | None
    ) -> None:
        key = key_of(endpoints)
        if event_type == DELETED:
            self.expectations.deleted(key, key)
            self._written.pop(key, None)
        else:
            self.expectations.created(key, key)
            if endpoints.metadata.resource_version >= self._written.get(key, 0):
                self._written.pop(key, None)
        self.queue.add(key)

    def _on_workload(self, event_type: str, obj: Workload, previous: Workload | None) -> None:
        if previous is not None and _shown(previous) == _shown(obj):
            return
        for key in self._services_selecting(obj) | (self._services_selecting(previous) if previous else set()):
            self.queue.add(key)

    def _services_selecting(self, obj: Workload) -> set[str]:
        namespace, labels = obj.metadata.namespace, obj.metadata.labels
        candidates: set[str] = set()
        for pair in label_pairs(namespace, labels.items()):
            for service in self.services.by_index(SELECTOR_INDEX, pair):
                if selects(service, labels):
                    candidates.add(key_of(service))
        return candidates

    # -- reconcile --------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> Result | None:
        if not self.expectations.satisfied(key):
            return None  # our last write is not in the cache yet: its event queues the key again
        current = self.endpoints.get(key)
        if current is not None and current.metadata.resource_version < self._written.get(key, 0):
            return None
        service = self.services.get(key)
        if service is None:
            owner = controller_of(current.metadata) if current is not None else None
            if owner is not None and owner.kind == "Service":
                await self._delete(key)  # ours, and its Service is gone; others' Endpoints are theirs
            return None
        if not service.spec.selector:
            return None
        subsets = desired_subsets(service, self._selected(service))
        # Two independent writes, each conditional on what it read: one round trip, not two.
        outcomes = await asyncio.gather(
            self._write(service, current, subsets), self._write_counts(service, subsets), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return None

    def _selected(self, service: service_pb2.Service) -> list[Workload]:
        """Copies of the pods and VMs of the Service's namespace its selector matches."""
        namespace, selector = service.metadata.namespace, service.spec.selector
        pairs = label_pairs(namespace, selector.items())
        selected: list[Workload] = []
        for cache in self.workloads.values():
            rarest = min(pairs, key=lambda pair: len(cache.index_keys(LABEL_INDEX, pair)))
            for key in sorted(cache.index_keys(LABEL_INDEX, rarest)):
                obj = cache.get(key)
                if obj is not None and selects(service, obj.metadata.labels):
                    selected.append(obj)
        return selected

    async def _write(
        self,
        service: service_pb2.Service,
        current: service_pb2.Endpoints | None,
        subsets: list[service_pb2.EndpointSubset],
    ) -> None:
        key = key_of(service)
        owner = controller_ref("Service", service)
        if current is None:
            endpoints = service_pb2.Endpoints(subsets=subsets)
            endpoints.metadata.name, endpoints.metadata.namespace = service.metadata.name, service.metadata.namespace
            endpoints.metadata.labels.update(service.metadata.labels)
            endpoints.metadata.owner_references.append(owner)
            self.expectations.expect_creations(key, [key])
            try:
                await self.api.create(endpoints)
            except ApiError:
                self.expectations.created(key, key)
                raise
            metrics.ENDPOINTS_WRITES.labels("create").inc()
            return
        if list(current.subsets) == subsets and _owned_by(current, owner):
            return
        del current.subsets[:]
        current.subsets.extend(subsets)
        if not _owned_by(current, owner):
            kept = [ref for ref in current.metadata.owner_references if not ref.controller]
            del current.metadata.owner_references[:]
            current.metadata.owner_references.extend([*kept, owner])
        written = await self.api.update(current)  # with the revision read: ABORTED if it moved on
        self._written[key] = written.endpoints.metadata.resource_version
        metrics.ENDPOINTS_WRITES.labels("update").inc()

    async def _write_counts(self, service: service_pb2.Service, subsets: list[service_pb2.EndpointSubset]) -> None:
        ready, not_ready = count_addresses(subsets)
        status = service.status
        if (status.ready_endpoints, status.not_ready_endpoints) == (ready, not_ready):
            return
        status.ready_endpoints, status.not_ready_endpoints = ready, not_ready
        await self.api.update_status(service)

    async def _delete(self, key: str) -> None:
        namespace, name = split_key(key)
        self.expectations.expect_deletions(key, [key])
        try:
            await self.api.delete("Endpoints", name, namespace)
        except ApiError as err:
            self.expectations.deleted(key, key)
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise
        metrics.ENDPOINTS_WRITES.labels("delete").inc()


def _shown(obj: Workload) -> tuple[object, ...]:
    """What of a workload an Endpoints can show: a change elsewhere queues nothing."""
    labels = tuple(sorted(obj.metadata.labels.items()))
    deleting = obj.metadata.HasField("deletion_timestamp")
    if isinstance(obj, pod_pb2.Pod):
        ports = tuple((p.name, p.container_port, p.protocol) for c in obj.spec.containers for p in c.ports)
        return (labels, deleting, obj.spec.node_name, obj.status.pod_ip, obj.status.phase, is_ready(obj), ports)
    return (labels, deleting, obj.spec.node_name, obj.status.ip, obj.status.phase, is_ready(obj))


def _owned_by(endpoints: service_pb2.Endpoints, owner: meta_pb2.OwnerReference) -> bool:
    return any(ref == owner for ref in endpoints.metadata.owner_references)
