"""The Deployment controller: N replicas of a Pod or VirtualMachine template, rolled out safely.

reconcile("ns/name"):
1. Record the current template as the newest revision (annotations, see ``revisions``).
2. Sort the replicas the Deployment controls (owner reference with controller=true; Pods and
   VirtualMachines both, so a template that switches kind rolls over too) into new (label
   ``atoll.dev/template-hash`` equals the current template's hash) and old.
3. Take one rollout step (``rollout``): create / delete replicas, at most ``burst`` per step.
   Creations and deletions are recorded as expectations first; while the informer has not seen
   them yet, the controller only refreshes status (it never counts from a stale cache twice).
4. Write status (counts, Progressing, Available) if it changed, and ask to be woken at the
   progress deadline while a rollout is unfinished.

Replicas that disappear (evicted from a dead node, deleted by hand) are simply missing from the
count and are created again elsewhere. A Deployment being deleted is left to the garbage collector.
A paused Deployment keeps its replica count for the template it already runs and does not roll.
Orphaned replicas matching the selector are not adopted (atoll has no ReplicaSet layer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

import grpc

from atoll.client import ApiError
from atoll.clock import Clock
from atoll.events import NORMAL
from atoll.labels import selector_from_proto
from atoll.ports import Creator, Deleter, StatusUpdater, Updater
from atoll.revisions import current_revision, record_current_template, template_hash
from atoll.v1 import deployment_pb2
from atoll.watch_events import ADDED, DELETED
from controller.controllers.conditions import find_condition
from controller.controllers.deployment import rollout
from controller.controllers.deployment import status as deployment_status
from controller.controllers.deployment.replicas import (
    REPLICA_KINDS,
    Replica,
    new_replica,
    replica_name,
    summarize,
    template_kind,
)
from controller.controllers.ownership import controller_of
from controller.controllers.workloads import Workload
from controller.runtime.events import EventRecorder
from controller.runtime.expectations import Expectations
from controller.runtime.informer import ObjectCache
from controller.runtime.keys import join_key, key_of
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

log = logging.getLogger(__name__)
NAME = "deployment"
OWNER_INDEX = "deployment-owner"


class DeploymentApi(Creator, Updater, StatusUpdater, Deleter, Protocol):
    """The API calls the controller makes (``atoll.client.Client`` satisfies it)."""


def owner_index(obj: Workload) -> list[str]:
    """Index replicas by the key of the Deployment that controls them."""
    ref = controller_of(obj.metadata)
    if ref is None or ref.kind != "Deployment":
        return []
    return [f"{join_key(obj.metadata.namespace, ref.name)}/{ref.uid}"]


class DeploymentController:
    name = NAME

    def __init__(
        self,
        api: DeploymentApi,
        deployments: ObjectCache[deployment_pb2.Deployment],
        replicas: Mapping[str, ObjectCache[Workload]],
        clock: Clock,
        *,
        burst: int = 500,
        queue: WorkQueue | None = None,
    ) -> None:
        """``replicas`` maps "Pod" and "VirtualMachine" to their informers."""
        self.api = api
        self.clock = clock
        self.queue = queue or WorkQueue(clock, name=NAME)
        self.deployments = deployments
        self.replicas = replicas
        self.burst = burst
        self.expectations = Expectations(clock)
        self.events = EventRecorder(api, f"controller/{NAME}", clock)
        deployments.add_handler(lambda _type, deployment, _previous: self.queue.add(key_of(deployment)))
        for informer in replicas.values():
            informer.add_index(OWNER_INDEX, owner_index)
            informer.add_handler(self._on_replica)

    # -- event handlers (cached objects: read only) ----------------------------------------------

    def _on_replica(self, event_type: str, replica: Workload, previous: Workload | None) -> None:
        for obj in (previous, replica):
            if obj is None:
                continue
            for owner in owner_index(obj):
                key = owner.rsplit("/", 1)[0]
                if event_type == ADDED:
                    self.expectations.created(key, obj.metadata.name)
                # A deletion is observed once the replica is marked: with finalizers it may stay
                # Terminating for long (its node is down), as in client-go's ReplicaSet controller.
                if event_type == DELETED or obj.metadata.HasField("deletion_timestamp"):
                    self.expectations.deleted(key, obj.metadata.name)
                self.queue.add(key)

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> Result | None:
        deployment = self.deployments.get(key)
        if deployment is None:
            self.expectations.forget(key)
            return None
        if deployment.metadata.HasField("deletion_timestamp"):
            return None
        if record_current_template(deployment):
            # ABORTED when the Deployment changed since the cache saw it: retried with back-off.
            deployment = (await self.api.update(deployment)).deployment
        digest = template_hash(deployment.spec.template)
        now = self.clock.now()
        new, old = self._replicas_of(deployment, digest, now)
        spec = deployment.spec
        surge, unavailable = rollout.fenceposts(
            spec.strategy.rolling_update.max_surge, spec.strategy.rolling_update.max_unavailable, spec.replicas
        )
        acted = False
        if self.expectations.satisfied(key):
            acted = await self._step(key, deployment, digest, new, old, surge, unavailable)
        counts = deployment_status.count([r for r in new if r.active], [r for r in old if r.active])
        min_available = spec.replicas - unavailable if spec.strategy.type != "Recreate" else spec.replicas
        status = deployment_status.desired_status(
            deployment, counts, max(0, min_available), current_revision(deployment), now
        )
        if status != deployment.status:
            updated = deployment_pb2.Deployment()
            updated.CopyFrom(deployment)
            updated.status.CopyFrom(status)
            await self.api.update_status(updated)
        # Ready replicas that become available later (minReadySeconds) change counts and the rollout.
        soon = [r.available_at - now for r in (*new, *old) if r.active and r.ready and not r.available]
        if acted or (deployment_status.complete(deployment, counts) and not soon):
            return None
        if spec.paused:
            return Result(requeue_after=max(0.1, min(soon))) if soon else None
        progressing = find_condition(status.conditions, "Progressing")
        wait = deployment_status.seconds_to_deadline(deployment, progressing, now)
        return Result(requeue_after=max(0.1, min([*soon, max(1.0, wait)])))

    def _replicas_of(
        self, deployment: deployment_pb2.Deployment, digest: str, now: float
    ) -> tuple[list[Replica], list[Replica]]:
        index_value = f"{key_of(deployment)}/{deployment.metadata.uid}"
        selector = selector_from_proto(deployment.spec.selector)
        new: list[Replica] = []
        old: list[Replica] = []
        wanted_kind = template_kind(deployment.spec.template)
        for kind in REPLICA_KINDS:
            informer = self.replicas.get(kind)
            if informer is None:
                continue
            for obj in informer.by_index(OWNER_INDEX, index_value):
                if not selector.matches(obj.metadata.labels):
                    continue
                replica = summarize(kind, obj, now, deployment.spec.min_ready_seconds)
                (new if replica.template_hash == digest and kind == wanted_kind else old).append(replica)
        return new, old

    async def _step(
        self,
        key: str,
        deployment: deployment_pb2.Deployment,
        digest: str,
        new: list[Replica],
        old: list[Replica],
        surge: int,
        unavailable: int,
    ) -> bool:
        """One rollout step; returns True when it created or deleted anything."""
        inactive = [replica for replica in (*new, *old) if not replica.active and not replica.deleting]
        new = [replica for replica in new if replica.active]
        old = [replica for replica in old if replica.active]
        spec = deployment.spec
        if spec.paused:
            plan = rollout.plan_rolling(spec.replicas, 0, spec.replicas, new, []) if not old else rollout.Plan()
        elif spec.strategy.type == "Recreate":
            plan = rollout.plan_recreate(spec.replicas, new, old)
        else:
            plan = rollout.plan_rolling(spec.replicas, surge, unavailable, new, old)
        doomed = [*inactive, *plan.delete][: self.burst]
        creations = min(plan.create, self.burst)
        if doomed:
            await self._delete(key, deployment, doomed)
        if creations:
            await self._create(key, deployment, digest, creations)
        return bool(doomed or creations)

    async def _create(self, key: str, deployment: deployment_pb2.Deployment, digest: str, count: int) -> None:
        """Create ``count`` replicas in slow-start batches (1, 2, 4, ...), stopping at the first
        batch with a failure so that a broken template costs one error, not ``count``."""
        names = [replica_name(deployment.metadata.name, digest) for _ in range(count)]
        self.expectations.expect_creations(key, names)
        batch = 1
        done = 0
        while done < count:
            chunk = names[done : done + batch]
            results = await asyncio.gather(*(self._create_one(key, deployment, digest, name) for name in chunk))
            done += len(chunk)
            batch *= 2
            failure = next((result for result in results if result is not None), None)
            if failure is not None:
                for name in names[done:]:
                    self.expectations.created(key, name)
                raise failure
        await self.events.record(
            "Deployment", deployment, NORMAL, "ScalingReplicaSet",
            f"created {count} {template_kind(deployment.spec.template)} replica(s) of revision "
            f"{current_revision(deployment)} ({digest})",
        )

    async def _create_one(
        self, key: str, deployment: deployment_pb2.Deployment, digest: str, name: str
    ) -> ApiError | None:
        try:
            await self.api.create(new_replica(deployment, digest, name))
        except ApiError as err:
            self.expectations.created(key, name)
            return err
        return None

    async def _delete(self, key: str, deployment: deployment_pb2.Deployment, doomed: list[Replica]) -> None:
        self.expectations.expect_deletions(key, [replica.name for replica in doomed])
        namespace = deployment.metadata.namespace

        async def delete_one(replica: Replica) -> ApiError | None:
            try:
                await self.api.delete(replica.kind, replica.name, namespace)
            except ApiError as err:
                self.expectations.deleted(key, replica.name)
                return None if err.code == grpc.StatusCode.NOT_FOUND else err
            return None

        results = await asyncio.gather(*(delete_one(replica) for replica in doomed))
        failure = next((result for result in results if result is not None), None)
        if failure is not None:
            raise failure
        await self.events.record(
            "Deployment", deployment, NORMAL, "ScalingReplicaSet", f"deleted {len(doomed)} replica(s)"
        )
