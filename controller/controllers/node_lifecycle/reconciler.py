"""The node lifecycle controller: notices nodes that stopped heartbeating and evicts their workloads.

Heartbeats are Leases named after the node in namespace ``atoll-node-lease``. Like Kubernetes,
the controller measures silence on its own clock from the moment it *observed* a lease change
(not from the timestamp inside the lease), so clock skew between hosts does not matter and a
freshly started (or newly elected) controller gives every node a full grace period.

reconcile(node name):
- Silent for less than ``grace_period`` (default 40 s): reachable. If the controller had marked
  it unreachable, it removes the ``node.atoll.dev/unreachable`` NoExecute taint and sets Ready
  back to True (reason NodeLeaseRenewed; the agent's next status report has the last word).
  Wakes again when the grace period would run out.
- Silent for ``grace_period`` or more: Ready becomes Unknown (reason NodeStatusUnknown), the
  NoExecute taint is added, and a Warning Event NodeNotReady is recorded once. At once, the Ready
  condition of every Pod and VirtualMachine bound to it goes False with reason NodeNotReady
  (Kubernetes' MarkPodsNotReady), so Deployments stop counting them available while they wait for
  eviction; the agent of a node that comes back reports their real readiness again. Each Pod or
  VirtualMachine bound to the node is evicted once its toleration of the taint runs out
  (``atoll.tolerations.eviction_delay``; default ``default_toleration_seconds`` = 300 s), measured
  from when this controller added (or first saw) the taint. Eviction:
  * a Pod: deleted; its owner makes a replacement that the scheduler places on a healthy node;
  * a VirtualMachine, standalone or a Deployment's replica: its status becomes phase Failed,
    reason NodeLost, and the VirtualMachine controller places its next run elsewhere if its run
    strategy says so (Always, RerunOnFailure) — the object is never deleted here, so it keeps its
    name, UID and Events (atoll/vm_runs.py), and Manual and Halted VMs keep their record.
  The agent of a node that comes back stops whatever it still runs that is no longer bound to it.
- Gone (the Node was deleted, or a workload names a node that does not exist): once it has been
  gone for ``orphan_quarantine`` (default 40 s, as Kubernetes' pod garbage collector waits, so a
  watch that lags behind a new Node cannot orphan its first workloads), every workload still bound
  to it is evicted as above without waiting for tolerations, and one that is already being
  deleted is released: no agent will ever remove its finalizer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import grpc

from atoll import finalizers, namespaces
from atoll.client import ApiError
from atoll.clock import Clock
from atoll.events import NORMAL, WARNING
from atoll.ports import Creator, Deleter, StatusUpdater, Updater, metadata_of
from atoll.tolerations import eviction_delay
from atoll.v1 import api_pb2, lease_pb2, node_pb2, scheduling_pb2
from atoll.watch_events import DELETED
from controller.controllers.conditions import find_condition, set_condition
from controller.controllers.release import NODE_LOST_REASON, release_from_lost_node
from controller.controllers.workloads import Workload
from controller.runtime import metrics
from controller.runtime.events import EventRecorder
from controller.runtime.informer import ObjectCache
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

NAME = "node-lifecycle"
LEASE_NAMESPACE = namespaces.NODE_LEASE
UNREACHABLE_TAINT_KEY = "node.atoll.dev/unreachable"
NODE_INDEX = "node-name"
UNKNOWN_REASON = "NodeStatusUnknown"
NODE_NOT_READY_REASON = "NodeNotReady"


def unreachable_taint() -> scheduling_pb2.Taint:
    return scheduling_pb2.Taint(key=UNREACHABLE_TAINT_KEY, effect="NoExecute")


# The taint eviction delays are computed against (read only: one, not a new message per workload).
_UNREACHABLE_TAINT = unreachable_taint()

# How soon a reconcile looks again at a workload it released from a lost node that is still there.
RELEASE_RETRY_SECONDS = 1.0

# A workload write that fails because the workload changed or is gone: no reconcile failure, as the
# watch event of its newer version (or deletion) queues its node again; failing instead would wait
# for the queue's per-key back-off under its global retry budget (10/s), seconds to minutes once
# many nodes fail at the same time.
LOOKED_AT_AGAIN = (grpc.StatusCode.ABORTED, grpc.StatusCode.NOT_FOUND)


@dataclass(frozen=True)
class NodeLifecycleOptions:
    grace_period: float = 40.0
    default_toleration_seconds: float = 300.0
    # One Normal Event per evicted workload (Kubernetes' TaintManagerEviction); off in benchmarks.
    eviction_events: bool = True
    orphan_quarantine: float = 40.0


class NodeApi(Creator, Updater, StatusUpdater, Deleter, Protocol):
    """The API calls the controller makes (``atoll.client.Client`` satisfies it)."""


def node_index(obj: Workload) -> list[str]:
    return [obj.spec.node_name] if obj.spec.node_name else []


class NodeLifecycleController:
    name = NAME

    def __init__(
        self,
        api: NodeApi,
        nodes: ObjectCache[node_pb2.Node],
        leases: ObjectCache[lease_pb2.Lease],
        workloads: Mapping[str, ObjectCache[Workload]],
        clock: Clock,
        options: NodeLifecycleOptions | None = None,
        queue: WorkQueue | None = None,
    ) -> None:
        """``leases`` watches namespace atoll-node-lease; ``workloads`` maps "Pod" and
        "VirtualMachine" to their informers."""
        self.api = api
        self.clock = clock
        self.options = options or NodeLifecycleOptions()
        self.queue = queue or WorkQueue(clock, name=NAME)
        self.nodes = nodes
        self.leases = leases
        self.workloads = workloads
        self.events = EventRecorder(api, f"controller/{NAME}", clock)
        self._observed: dict[str, float] = {}  # node -> when its heartbeat was last seen to change
        self._tainted_since: dict[str, float] = {}
        self._gone_since: dict[str, float] = {}  # node name -> when this controller first missed it
        nodes.add_handler(self._on_node)
        leases.add_handler(self._on_lease)
        for informer in workloads.values():
            informer.add_index(NODE_INDEX, node_index)
            informer.add_handler(self._on_workload)

    # -- handlers ----------------------------------------------------------------------------------

    def _on_node(self, event_type: str, node: node_pb2.Node, previous: node_pb2.Node | None) -> None:
        name = node.metadata.name
        if event_type == DELETED:
            self._observed.pop(name, None)
            self._tainted_since.pop(name, None)
            self.queue.forget(name)
            metrics.NODE_READY.remove(name)
            self.queue.add(name)  # what it ran is orphaned: collected after the quarantine
            return
        self._gone_since.pop(name, None)
        ready = find_condition(node.status.conditions, "Ready")
        metrics.NODE_READY.labels(name).set(1 if ready is not None and ready.status == "True" else 0)
        self._observed.setdefault(name, self.clock.now())
        self.queue.add(name)

    def _on_lease(self, event_type: str, lease: lease_pb2.Lease, previous: lease_pb2.Lease | None) -> None:
        if event_type == DELETED or lease.metadata.namespace != LEASE_NAMESPACE:
            return
        name = lease.metadata.name
        self._observed[name] = self.clock.now()
        if name in self._tainted_since:  # it was unreachable: bring it back now, not at the next timer
            self.queue.add(name)

    def _on_workload(self, event_type: str, obj: Workload, previous: Workload | None) -> None:
        node_name = obj.spec.node_name
        if not node_name or event_type == DELETED:
            return
        if node_name in self._tainted_since or self.nodes.get(node_name) is None:
            self.queue.add(node_name)

    # -- reconcile ---------------------------------------------------------------------------------

    async def reconcile(self, name: str) -> Result | None:
        node = self.nodes.get(name)
        now = self.clock.now()
        if node is None:
            return await self._collect_orphans(name, now)
        silent = now - self._observed.setdefault(name, now)
        grace = self.options.grace_period
        if silent < grace:
            await self._mark_reachable(node)
            return Result(requeue_after=grace - silent)
        await self._mark_unreachable(node, now)
        since = self._tainted_since.setdefault(name, now)
        next_due = await self._handle_workloads(name, since, now)
        return Result(requeue_after=None if next_due is None else max(0.0, next_due - now))

    async def _mark_reachable(self, node: node_pb2.Node) -> None:
        name = node.metadata.name
        self._tainted_since.pop(name, None)
        if _has_taint(node):
            kept = [taint for taint in node.spec.taints if taint.key != UNREACHABLE_TAINT_KEY]
            del node.spec.taints[:]
            node.spec.taints.extend(kept)
            node = (await self.api.update(node)).node
            await self.events.record("Node", node, NORMAL, "NodeReady", f"node {name} renews its lease again")
        ready = find_condition(node.status.conditions, "Ready")
        if ready is not None and ready.status == "Unknown" and ready.reason == UNKNOWN_REASON:
            set_condition(node.status.conditions, "Ready", "True", "NodeLeaseRenewed",
                          "the node agent renews its lease again", self.clock.now())
            await self.api.update_status(node)

    async def _mark_unreachable(self, node: node_pb2.Node, now: float) -> None:
        name = node.metadata.name
        ready = find_condition(node.status.conditions, "Ready")
        if ready is None or ready.status != "Unknown":
            message = f"node agent stopped renewing its lease (silent for over {self.options.grace_period:g}s)"
            set_condition(node.status.conditions, "Ready", "Unknown", UNKNOWN_REASON, message, now)
            node = (await self.api.update_status(node)).node
            await self.events.record("Node", node, WARNING, "NodeNotReady", f"node {name} is not ready: {message}")
        if not _has_taint(node):
            node.spec.taints.append(unreachable_taint())
            await self.api.update(node)
            self._tainted_since[name] = now

    async def _handle_workloads(self, node_name: str, since: float, now: float) -> float | None:
        """Each workload bound to the unreachable ``node_name``: Ready=False (once), then evicted
        when its toleration ran out (tainted ``since``); the earliest future deadline, if any.

        The eviction of a workload marked in the same pass uses the version that write returned,
        not the informer's (the watch may not have delivered it yet). A write that finds the
        workload changed or gone is no failure (LOOKED_AT_AGAIN)."""
        failure: ApiError | None = None
        next_due: float | None = None
        for kind, informer in self.workloads.items():
            for obj in informer.by_index(NODE_INDEX, node_name):
                try:
                    due = await self._handle_workload(kind, obj, node_name, since, now)
                except ApiError as err:
                    if err.code not in LOOKED_AT_AGAIN:
                        failure = err
                    continue
                if due is not None:
                    next_due = due if next_due is None else min(next_due, due)
        if failure is not None:
            raise failure
        return next_due

    async def _handle_workload(
        self, kind: str, obj: Workload, node_name: str, since: float, now: float
    ) -> float | None:
        """One workload of ``_handle_workloads``; when to look at it again, if ever."""
        if _already_lost(kind, obj):
            return None
        deleting = obj.metadata.HasField("deletion_timestamp")
        if deleting and finalizers.NODE_AGENT not in obj.metadata.finalizers:
            return None
        if not deleting:
            await self._mark_not_ready(obj, node_name, now)
        delay = eviction_delay(
            obj.spec.scheduling.tolerations, _UNREACHABLE_TAINT, self.options.default_toleration_seconds
        )
        if delay is None:
            return None
        if since + delay > now:
            return since + delay
        if deleting:
            # Deleting but still held by the agent that cannot let go: an earlier release lost a
            # race (release_from_lost_node leaves it to the next reconcile), so release it now
            # and come back until it is gone.
            await release_from_lost_node(self.api, await self._delete(kind, obj))
            return now + RELEASE_RETRY_SECONDS
        await self._evict(kind, obj, node_name, f"node {node_name} stopped heartbeating", "TaintManagerEviction")
        return None

    async def _mark_not_ready(self, obj: Workload, node_name: str, now: float) -> None:
        """Ready=False, reason NodeNotReady, unless ``obj`` says so already (a write per workload,
        once); ``obj`` takes the resource version written."""
        ready = find_condition(obj.status.conditions, "Ready")
        if ready is not None and ready.status == "False" and ready.reason == NODE_NOT_READY_REASON:
            return
        set_condition(obj.status.conditions, "Ready", "False", NODE_NOT_READY_REASON,
                      f"node {node_name} is not ready", now)
        written = await self.api.update_status(obj)
        obj.metadata.resource_version = metadata_of(written).resource_version

    async def _collect_orphans(self, name: str, now: float) -> Result | None:
        """Evicts (or releases, when already deleting) what is still bound to the missing node
        ``name`` once it has been missing for the quarantine."""
        bound = [(kind, obj) for kind, found in self.workloads.items() for obj in found.by_index(NODE_INDEX, name)]
        if not bound:
            self._gone_since.pop(name, None)
            return None
        since = self._gone_since.setdefault(name, now)
        if now - since < self.options.orphan_quarantine:
            return Result(requeue_after=since + self.options.orphan_quarantine - now)
        failure: ApiError | None = None
        for kind, obj in bound:
            if _already_lost(kind, obj):
                continue
            try:
                if obj.metadata.HasField("deletion_timestamp"):
                    await release_from_lost_node(self.api, await self._delete(kind, obj))
                else:
                    await self._evict(kind, obj, name, f"node {name} no longer exists", "NodeDeleted")
            except ApiError as err:
                if err.code not in LOOKED_AT_AGAIN:
                    failure = err
        if failure is not None:
            raise failure
        return None

    async def _delete(self, kind: str, obj: Workload) -> api_pb2.DeleteResponse:
        meta = obj.metadata
        revision = meta.resource_version
        return await self.api.delete(kind, meta.name, meta.namespace, precondition_resource_version=revision)

    async def _evict(self, kind: str, obj: Workload, node_name: str, why: str, reason: str) -> None:
        """A VM is marked Failed/NodeLost (the VM controller places its next run elsewhere per its
        run strategy); a Pod is deleted, and released from the agent that cannot."""
        if kind == "VirtualMachine":
            obj.status.phase = "Failed"
            obj.status.reason = NODE_LOST_REASON
            obj.status.message = why
            await self.api.update_status(obj)
        else:
            await release_from_lost_node(self.api, await self._delete(kind, obj))
        if self.options.eviction_events:
            await self.events.record(kind, obj, NORMAL, reason, f"evicted from node {node_name}: {why}")


def _already_lost(kind: str, obj: Workload) -> bool:
    return kind == "VirtualMachine" and obj.status.phase == "Failed" and obj.status.reason == NODE_LOST_REASON


def _has_taint(node: node_pb2.Node) -> bool:
    return any(taint.key == UNREACHABLE_TAINT_KEY and taint.effect == "NoExecute" for taint in node.spec.taints)
