"""The node IPAM controller: gives every Node a pod CIDR from the cluster CIDR (Kubernetes'
``--allocate-node-cidrs`` with the range allocator).

State lives in the Node objects (``spec.podCIDR``); ``allocator.NodeRangeAllocator`` is only an
index of them, rebuilt from the informer's initial list before any reconcile runs (the runner
starts after the informers synced), so a restart or a newly elected replica never hands out a
range twice.

reconcile(node name):
- The node has a podCIDR: nothing to do (a NetworkUnavailable condition this controller set is
  turned False, reason CIDRAssigned).
- It has none: take a free range (or the one this process already chose for it and may have
  written already), write it with the revision read (ABORTED when the node changed meanwhile: the
  key is retried with the same range, so an unconfirmed write never leaks or doubles a range).
- None is free: a Warning Event CIDRNotAvailable (once) and the condition NetworkUnavailable=True,
  reason CIDRNotAvailable; the node is retried when a range is released. Never a crash.
- A deleted Node's range is released. A node that holds a range outside the cluster CIDR or one
  another node holds already is reported (Warning Event CIDRNotAvailable) and left alone.
A node may not set or change its own podCIDR (the node authorizer refuses it).
"""

from __future__ import annotations

import logging
from typing import Protocol

from atoll.clock import Clock
from atoll.events import WARNING
from atoll.ports import Creator, StatusUpdater, Updater
from atoll.v1 import node_pb2
from atoll.watch_events import DELETED
from controller.controllers.conditions import find_condition, set_condition
from controller.controllers.node_ipam.allocator import NodeRangeAllocator, RangeExhaustedError
from controller.runtime.events import EventRecorder
from controller.runtime.informer import ObjectCache
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

NAME = "node-ipam"
CONDITION = "NetworkUnavailable"
NOT_AVAILABLE_REASON = "CIDRNotAvailable"
ASSIGNED_REASON = "CIDRAssigned"
log = logging.getLogger(__name__)


class NodeIpamApi(Creator, Updater, StatusUpdater, Protocol):
    """The API calls the controller makes (``atoll.client.Client`` satisfies it)."""


class NodeIpamController:
    name = NAME

    def __init__(
        self, api: NodeIpamApi, nodes: ObjectCache[node_pb2.Node], allocator: NodeRangeAllocator, clock: Clock,
        queue: WorkQueue | None = None,
    ) -> None:
        self.api = api
        self.nodes = nodes
        self.allocator = allocator
        self.clock = clock
        self.queue = queue or WorkQueue(clock, name=NAME)
        self.events = EventRecorder(api, f"controller/{NAME}", clock)
        self._pending: dict[str, str] = {}  # node -> range chosen here, not yet seen in its Node
        self._waiting: set[str] = set()  # nodes that found no free range
        self._reported: set[str] = set()  # nodes with a Warning Event already recorded
        nodes.add_handler(self._on_node)

    def _on_node(self, event_type: str, node: node_pb2.Node, previous: node_pb2.Node | None) -> None:
        name = node.metadata.name
        if event_type == DELETED:
            for cidr in {node.spec.pod_cidr, self._pending.pop(name, "")} - {""}:
                self.allocator.release(cidr, name)
            self._waiting.discard(name)
            self._reported.discard(name)
            self.queue.forget(name)
            self._wake_waiting()
            return
        cidr = node.spec.pod_cidr
        before = previous.spec.pod_cidr if previous is not None else ""
        if cidr:
            pending = self._pending.pop(name, "")
            for stale in {pending, before} - {"", cidr}:
                self.allocator.release(stale, name)
            if not self.allocator.occupy(cidr, name):
                self.queue.add(name)  # reported by reconcile
                return
            self._waiting.discard(name)
            if _condition_set_here(node):
                self.queue.add(name)
            return
        self.queue.add(name)

    def _wake_waiting(self) -> None:
        for name in sorted(self._waiting):
            self.queue.add(name)

    async def reconcile(self, name: str) -> Result | None:
        node: node_pb2.Node | None = self.nodes.get(name)
        if node is None:
            return None
        if node.spec.pod_cidr:
            return await self._check_held(node)
        cidr = self._pending.get(name)
        if cidr is None:
            try:
                cidr = self.allocator.allocate(name)
            except RangeExhaustedError as err:
                self._waiting.add(name)
                await self._report(node, str(err))
                return None
            self._pending[name] = cidr
        node.spec.pod_cidr = cidr  # written with the revision read: ABORTED if the node moved on
        await self.api.update(node)
        log.info("node %s: pod CIDR %s", name, cidr)
        return None

    async def _check_held(self, node: node_pb2.Node) -> Result | None:
        name, cidr = node.metadata.name, node.spec.pod_cidr
        if self.allocator.owner(cidr) != name:
            other = self.allocator.owner(cidr)
            allocator = self.allocator
            why = (f"held by node {other}" if other else
                   f"not a /{allocator.node_mask_size} range of cluster CIDR {allocator.cluster_cidr}")
            if name not in self._reported:
                self._reported.add(name)
                await self.events.record("Node", node, WARNING, NOT_AVAILABLE_REASON,
                                         f"node {name} has pod CIDR {cidr}, {why}; left as it is")
            return None
        self._reported.discard(name)
        if _condition_set_here(node):
            set_condition(node.status.conditions, CONDITION, "False", ASSIGNED_REASON, f"pod CIDR {cidr} assigned",
                          self.clock.now())
            await self.api.update_status(node)
        return None

    async def _report(self, node: node_pb2.Node, why: str) -> None:
        name = node.metadata.name
        if name not in self._reported:
            self._reported.add(name)
            await self.events.record("Node", node, WARNING, NOT_AVAILABLE_REASON,
                                     f"node {name} gets no pod CIDR: {why}")
        condition = find_condition(node.status.conditions, CONDITION)
        if condition is None or condition.status != "True" or condition.reason != NOT_AVAILABLE_REASON:
            set_condition(node.status.conditions, CONDITION, "True", NOT_AVAILABLE_REASON, why, self.clock.now())
            await self.api.update_status(node)


def _condition_set_here(node: node_pb2.Node) -> bool:
    condition = find_condition(node.status.conditions, CONDITION)
    return condition is not None and condition.status == "True" and condition.reason == NOT_AVAILABLE_REASON
