"""The volume binding controller (Kubernetes' PV controller with its protection controllers, and
the provisioners' half that makes volume objects).

Keys: ``namespace/name`` is a claim, ``name`` a volume (volumes are cluster-scoped).

reconcile(claim):
- Being deleted: the finalizer ``atoll.dev/pvc-protection`` is removed once no workload holds the
  claim (every VM object naming it, a Pod until it ends: atoll.storage.holds_claims).
- Otherwise the finalizer is added first; a claim without a class gets the default class.
- Bound: stays Bound while its volume exists; Lost (Warning Event ClaimLost) when the volume is
  gone or is a local volume whose node is gone. A larger request grows the volume's recorded
  capacity when the class allows expansion (Event Resized; a directory's size is only recorded,
  a VM disk file is grown by its node at the next attach), else a Warning ExpansionNotAllowed.
- Pending: bound to the volume reserved for it, else to the smallest Available volume that serves
  it; else its class provisions one: at once (Immediate) or, for WaitForFirstConsumer, once a
  workload that uses it has been placed (its node is recorded on the claim, annotation
  ``volume.atoll.dev/selected-node``, and the volume is pinned to it). A local volume is made only
  where the node has room for it in its class's pool (atoll.storage.local_pool, less the local
  volumes of that pool already there); otherwise the claim stays Pending, reason
  ProvisioningFailed naming the node, the pool, what is left and what the claim asks. The provisioned volume is
  named ``pvc-<claim uid>`` and reserved for the claim, so a repeated reconcile finds it instead of
  making another (a create that finds it exists is that case). Binding writes the volume first
  (claimRef, phase Bound), then the claim (volumeName, phase Bound, capacity): a crash in between
  leaves a volume reserved for the claim, which the next reconcile binds.
reconcile(volume):
- Being deleted: ``atoll.dev/pv-protection`` is removed once no existing claim is bound to it;
  ``atoll.dev/volume-data`` is removed here for a local volume whose node is gone (its data went
  with the node) and, given the shared dir (``--shared-storage-dir``), for a shared volume after
  removing its data; otherwise the node holding the data does it (agent/volumes/reclaimer.py).
- Otherwise the protection finalizer is added; no claimRef: Available; its claim exists: Bound;
  its claim is gone: Released (Event), then deleted when its reclaim policy is Delete (the data
  with it, see above), kept with its data when Retain (an admin clears claimRef to reuse it).
Every write is made with the revision read (a conflict retries the key with back-off).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import grpc

from atoll import storage
from atoll.client import ApiError
from atoll.clock import Clock
from atoll.events import NORMAL, WARNING
from atoll.ports import Creator, Deleter, StatusUpdater, Updater
from atoll.v1 import node_pb2, storage_pb2
from atoll.volume_data import remove_volume, volume_path
from atoll.watch_events import DELETED
from controller.controllers.volume_binding.matching import best_volume, first_consumer_node, provisioned_volume
from controller.controllers.workloads import Workload
from controller.runtime import metrics
from controller.runtime.events import EventRecorder
from controller.runtime.informer import ObjectCache
from controller.runtime.keys import join_key, key_of
from controller.runtime.reconciler import Result
from controller.runtime.workqueue import WorkQueue

log = logging.getLogger(__name__)
NAME = "volume-binding"
CLAIM = "PersistentVolumeClaim"
VOLUME = "PersistentVolume"
_BY_CLAIM = "claims"


class VolumeBindingApi(Creator, Updater, StatusUpdater, Deleter, Protocol):
    """The API calls the controller makes (``atoll.client.Client`` satisfies it)."""


def _copy_claim(claim: storage_pb2.PersistentVolumeClaim) -> storage_pb2.PersistentVolumeClaim:
    fresh = storage_pb2.PersistentVolumeClaim()
    fresh.CopyFrom(claim)
    return fresh


def _copy_volume(volume: storage_pb2.PersistentVolume) -> storage_pb2.PersistentVolume:
    fresh = storage_pb2.PersistentVolume()
    fresh.CopyFrom(volume)
    return fresh


class VolumeBindingController:
    name = NAME

    def __init__(
        self,
        api: VolumeBindingApi,
        claims: ObjectCache[storage_pb2.PersistentVolumeClaim],
        volumes: ObjectCache[storage_pb2.PersistentVolume],
        classes: ObjectCache[storage_pb2.StorageClass],
        workloads: dict[str, ObjectCache[Workload]],
        nodes: ObjectCache[node_pb2.Node],
        clock: Clock,
        queue: WorkQueue | None = None,
        shared_dir: Path | None = None,
    ) -> None:
        self.api = api
        self.shared_dir = shared_dir
        self.claims, self.volumes, self.classes, self.nodes = claims, volumes, classes, nodes
        self.workloads = workloads
        self.clock = clock
        self.queue = queue or WorkQueue(clock, name=NAME)
        self.events = EventRecorder(api, f"controller/{NAME}", clock)
        self._reported: set[tuple[str, str]] = set()  # (key, reason) of Events recorded once
        self._pools: frozenset[str] | None = None  # _declared_pools(), until a node changes
        self._provisioning: dict[str, float] = {}  # claim key -> its first provisioning attempt
        self._export_phases()
        claims.add_handler(self._on_claim)
        volumes.add_handler(self._on_volume)
        classes.add_handler(lambda _type, _class, _previous: self._queue_pending_claims())
        nodes.add_handler(self._on_node)
        for cache in workloads.values():
            cache.add_index(_BY_CLAIM, lambda w: [join_key(w.metadata.namespace, c) for c in storage.claims_of(w)])
            cache.add_handler(self._on_workload)

    # -- event handlers: which keys to look at ------------------------------------------------------

    def _on_claim(
        self,
        event_type: str,
        claim: storage_pb2.PersistentVolumeClaim,
        previous: storage_pb2.PersistentVolumeClaim | None,
    ) -> None:
        self.queue.add(key_of(claim))
        if claim.spec.volume_name:
            self.queue.add(claim.spec.volume_name)
        if event_type == DELETED:
            self._reported = {entry for entry in self._reported if entry[0] != key_of(claim)}
            self._provisioning.pop(key_of(claim), None)
            for volume in self.volumes.list():
                if volume.spec.claim_ref.uid == claim.metadata.uid:
                    self.queue.add(volume.metadata.name)

    def _on_volume(
        self, event_type: str, volume: storage_pb2.PersistentVolume, previous: storage_pb2.PersistentVolume | None
    ) -> None:
        self.queue.add(volume.metadata.name)
        ref = volume.spec.claim_ref
        if ref.name:
            self.queue.add(join_key(ref.namespace, ref.name))
        if event_type == DELETED or volume.status.phase == storage.VOLUME_AVAILABLE:
            self._queue_pending_claims()

    def _on_workload(self, event_type: str, workload: Workload, previous: Workload | None) -> None:
        names = set(storage.claims_of(workload))
        if previous is not None:
            names |= set(storage.claims_of(previous))
        for name in names:
            self.queue.add(join_key(workload.metadata.namespace, name))

    def _on_node(self, event_type: str, node: node_pb2.Node, previous: node_pb2.Node | None) -> None:
        if previous is None or event_type == DELETED or previous.status.allocatable != node.status.allocatable:
            self._pools = None
        if event_type != DELETED:
            return
        for volume in self.volumes.list():
            if storage.volume_node(volume) == node.metadata.name:
                self.queue.add(volume.metadata.name)
                if volume.spec.claim_ref.name:
                    self.queue.add(join_key(volume.spec.claim_ref.namespace, volume.spec.claim_ref.name))

    def _queue_pending_claims(self) -> None:
        for claim in self.claims.list():
            if claim.status.phase != storage.CLAIM_BOUND:
                self.queue.add(key_of(claim))

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> Result | None:
        if "/" in key:
            await self._reconcile_claim(key)
        else:
            await self._reconcile_volume(key)
        return None

    async def _reconcile_claim(self, key: str) -> None:
        cached = self.claims.get(key)
        if cached is None:
            return
        claim = _copy_claim(cached)
        finalizers = claim.metadata.finalizers
        if claim.metadata.HasField("deletion_timestamp"):
            if storage.CLAIM_PROTECTION_FINALIZER in finalizers and not self._users(claim):
                finalizers.remove(storage.CLAIM_PROTECTION_FINALIZER)
                await self.api.update(claim)
            return
        if storage.CLAIM_PROTECTION_FINALIZER not in finalizers:
            finalizers.append(storage.CLAIM_PROTECTION_FINALIZER)
            await self.api.update(claim)
            return
        if not claim.spec.storage_class_name:
            default = self._default_class()
            if default is not None:
                claim.spec.storage_class_name = default.metadata.name
                await self.api.update(claim)
                return
        if claim.spec.volume_name and claim.status.phase in (storage.CLAIM_BOUND, storage.CLAIM_LOST):
            await self._check_bound(claim)
            return
        await self._bind_or_provision(claim)

    async def _check_bound(self, claim: storage_pb2.PersistentVolumeClaim) -> None:
        volume = self.volumes.get(claim.spec.volume_name)
        if volume is None or volume.spec.claim_ref.uid != claim.metadata.uid:
            await self._lose(claim, "VolumeGone", f"its volume {claim.spec.volume_name} no longer exists")
            return
        node = storage.volume_node(volume)
        if node is not None and self.nodes.get(node) is None:
            await self._lose(
                claim, "NodeLost", f"its local volume {volume.metadata.name} was on node {node}, which is gone"
            )
            return
        if claim.status.phase == storage.CLAIM_LOST:
            return  # Lost stays Lost, as in Kubernetes: the data is not where the claim says
        await self._expand(claim, volume)

    async def _lose(self, claim: storage_pb2.PersistentVolumeClaim, reason: str, message: str) -> None:
        if claim.status.phase == storage.CLAIM_LOST:
            return
        claim.status.phase, claim.status.reason, claim.status.message = storage.CLAIM_LOST, reason, message
        await self.api.update_status(claim)
        await self.events.record(CLAIM, claim, WARNING, "ClaimLost", message)

    async def _expand(self, claim: storage_pb2.PersistentVolumeClaim, volume: storage_pb2.PersistentVolume) -> None:
        wanted = claim.spec.resources.requests[storage.STORAGE]
        if storage.claim_size(claim) <= storage.volume_size(volume):
            if claim.status.capacity.get(storage.STORAGE) != volume.spec.capacity[storage.STORAGE]:
                claim.status.capacity[storage.STORAGE] = volume.spec.capacity[storage.STORAGE]
                await self.api.update_status(claim)
            return
        storage_class = self.classes.get(volume.spec.storage_class_name)
        if storage_class is None or not storage_class.allow_volume_expansion:
            await self._once(
                claim,
                WARNING,
                "ExpansionNotAllowed",
                f"class {volume.spec.storage_class_name or '<none>'} "
                f"does not allow expansion; the volume stays {volume.spec.capacity[storage.STORAGE]}",
            )
            return
        grown = _copy_volume(volume)
        grown.spec.capacity[storage.STORAGE] = wanted
        await self.api.update(grown)
        claim.status.capacity[storage.STORAGE] = wanted
        await self.api.update_status(claim)
        await self.events.record(CLAIM, claim, NORMAL, "Resized", f"volume {volume.metadata.name} grown to {wanted}")

    async def _bind_or_provision(self, claim: storage_pb2.PersistentVolumeClaim) -> None:
        storage_class = self.classes.get(claim.spec.storage_class_name) if claim.spec.storage_class_name else None
        if claim.spec.volume_name:
            volume = self.volumes.get(claim.spec.volume_name)
            problem = "does not exist" if volume is None else storage.volume_serves_problem(volume, claim)
            if volume is not None and problem is None and volume.spec.claim_ref.uid not in ("", claim.metadata.uid):
                problem = "is bound to another claim"
            if volume is None or problem is not None:
                await self._pending(claim, "VolumeMismatch", f"volume {claim.spec.volume_name} {problem}")
                return
            await self._bind(claim, volume)
            return
        node: str | None = None
        waits = storage_class is not None and storage_class.volume_binding_mode == storage.WAIT_FOR_FIRST_CONSUMER
        if waits:
            node = claim.metadata.annotations.get(storage.SELECTED_NODE_ANNOTATION) or first_consumer_node(
                self._users(claim)
            )
        found = best_volume(claim, self.volumes.list(), node)
        if found is not None and (not waits or node is not None or found.spec.claim_ref.uid):
            await self._bind(claim, found)
            return
        if claim.spec.storage_class_name and storage_class is None:
            await self._pending(claim, "ClassNotFound", f"storage class {claim.spec.storage_class_name} not found")
            return
        if storage_class is None:
            await self._pending(
                claim, "NoMatchingVolume", "no volume of no class serves it, and no default class exists"
            )
            return
        if waits and node is None:
            await self._pending(
                claim, storage.WAIT_FOR_FIRST_CONSUMER, "waiting for the first workload that uses it to be scheduled"
            )
            return
        if node is not None and claim.metadata.annotations.get(storage.SELECTED_NODE_ANNOTATION) != node:
            claim.metadata.annotations[storage.SELECTED_NODE_ANNOTATION] = node
            await self.api.update(claim)
            return
        await self._provision(claim, storage_class, node)

    async def _provision(
        self, claim: storage_pb2.PersistentVolumeClaim, storage_class: storage_pb2.StorageClass, node: str | None
    ) -> None:
        started = self._provisioning.setdefault(key_of(claim), self.clock.now())
        missing = set(claim.spec.access_modes) - storage.PROVISIONER_ACCESS_MODES.get(storage_class.provisioner, set())
        if missing:
            await self._pending(
                claim,
                "ProvisioningFailed",
                f"class {storage_class.metadata.name} "
                f"({storage_class.provisioner}) cannot offer {', '.join(sorted(missing))}",
            )
            return
        short = self._local_room_problem(claim, storage_class, node)
        if short is not None:
            metrics.VOLUME_PROVISIONING_ERRORS.labels(storage_class.provisioner).inc()
            await self._pending(claim, "ProvisioningFailed", short)
            return
        volume = provisioned_volume(claim, storage_class, node)
        try:
            await self.api.create(volume)
        except ApiError as err:
            if err.code is not grpc.StatusCode.ALREADY_EXISTS:
                metrics.VOLUME_PROVISIONING_ERRORS.labels(storage_class.provisioner).inc()
                raise
            self._provisioning.pop(key_of(claim), None)
            return  # made by an earlier attempt: its watch event binds it
        self._provisioning.pop(key_of(claim), None)
        metrics.VOLUME_PROVISIONING_SECONDS.labels(storage_class.provisioner).observe(
            max(0.0, self.clock.now() - started)
        )
        where = f" on node {node}" if node else ""
        await self.events.record(
            CLAIM,
            claim,
            NORMAL,
            "ProvisioningSucceeded",
            f"provisioned volume {volume.metadata.name}{where} ({storage_class.provisioner})",
        )

    def _local_room_problem(
        self, claim: storage_pb2.PersistentVolumeClaim, storage_class: storage_pb2.StorageClass, node: str | None
    ) -> str | None:
        """Why a local volume for ``claim`` cannot be made on ``node``: the node's room in the
        class's pool (atoll.storage.local_pool), minus the local volumes of that pool already
        there, is smaller than the claim. None when it fits, or the node or its room for that pool
        is not known here."""
        found = self.nodes.get(node) if node and storage_class.provisioner == storage.LOCAL_PROVISIONER else None
        if found is None:
            return None
        declared = self._declared_pools()
        pool = storage.local_pool(storage_class.metadata.name, declared.__contains__)
        if pool not in found.status.allocatable:
            return None  # the node states no room: its agent finds out (a directory has no quota)
        room = storage.quantity_bytes(found.status.allocatable[pool]) or 0
        for volume in self.volumes.list():
            here = storage.volume_node(volume) == node and volume.spec.claim_ref.uid != claim.metadata.uid
            if here and storage.local_pool(volume.spec.storage_class_name, declared.__contains__) == pool:
                room -= storage.volume_size(volume)
        wanted = storage.claim_size(claim)
        if wanted <= room:
            return None
        return (
            f"node {node} has {max(room, 0)} bytes of {pool} left for class {storage_class.metadata.name}, "
            f"the claim asks {wanted}"
        )

    def _declared_pools(self) -> frozenset[str]:
        """The per-class capacity resources any node declares (cached until a node changes)."""
        if self._pools is None:
            self._pools = frozenset(
                name
                for node in self.nodes.list()
                for name in node.status.allocatable
                if name.startswith(storage.CLASS_CAPACITY_PREFIX)
            )
        return self._pools

    async def _bind(self, claim: storage_pb2.PersistentVolumeClaim, cached: storage_pb2.PersistentVolume) -> None:
        volume = _copy_volume(cached)
        ref = volume.spec.claim_ref
        if ref.uid != claim.metadata.uid:
            ref.kind, ref.namespace, ref.name, ref.uid = (
                CLAIM,
                claim.metadata.namespace,
                claim.metadata.name,
                claim.metadata.uid,
            )
            volume = (await self.api.update(volume)).persistent_volume
        if volume.status.phase != storage.VOLUME_BOUND:
            volume.status.phase = storage.VOLUME_BOUND
            volume.status.reason = volume.status.message = ""
            await self.api.update_status(volume)
        if claim.spec.volume_name != volume.metadata.name:
            claim.spec.volume_name = volume.metadata.name
            claim = (await self.api.update(claim)).persistent_volume_claim
        claim.status.phase = storage.CLAIM_BOUND
        claim.status.reason = claim.status.message = ""
        del claim.status.access_modes[:]
        claim.status.access_modes.extend(volume.spec.access_modes)
        claim.status.capacity[storage.STORAGE] = volume.spec.capacity[storage.STORAGE]
        await self.api.update_status(claim)
        created = claim.metadata.creation_timestamp
        metrics.VOLUME_BINDING_SECONDS.observe(max(0.0, self.clock.now() - created.seconds - created.nanos / 1e9))
        await self.events.record(
            CLAIM,
            claim,
            NORMAL,
            "Bound",
            f"bound to volume {volume.metadata.name} ({volume.spec.capacity[storage.STORAGE]})",
        )

    async def _pending(self, claim: storage_pb2.PersistentVolumeClaim, reason: str, message: str) -> None:
        if (claim.status.phase, claim.status.reason, claim.status.message) != (storage.CLAIM_PENDING, reason, message):
            claim.status.phase, claim.status.reason, claim.status.message = storage.CLAIM_PENDING, reason, message
            await self.api.update_status(claim)
        event_type = NORMAL if reason == storage.WAIT_FOR_FIRST_CONSUMER else WARNING
        await self._once(claim, event_type, reason, message)

    async def _once(self, claim: storage_pb2.PersistentVolumeClaim, event_type: str, reason: str, message: str) -> None:
        """One Event per claim and reason while this process runs (a retried key does not repeat it)."""
        entry = (key_of(claim), reason)
        if entry not in self._reported:
            self._reported.add(entry)
            await self.events.record(CLAIM, claim, event_type, reason, message)

    def _users(self, claim: storage_pb2.PersistentVolumeClaim) -> list[Workload]:
        key = key_of(claim)
        return [
            w for cache in self.workloads.values() for w in cache.by_index(_BY_CLAIM, key) if storage.holds_claims(w)
        ]

    def _default_class(self) -> storage_pb2.StorageClass | None:
        defaults = sorted(
            (c for c in self.classes.list() if storage.is_default_class(c)), key=lambda c: c.metadata.name
        )
        return defaults[0] if defaults else None

    # -- volumes ----------------------------------------------------------------------------------

    async def _reconcile_volume(self, name: str) -> None:
        cached = self.volumes.get(name)
        if cached is None:
            return
        volume = _copy_volume(cached)
        finalizers = volume.metadata.finalizers
        claim = self._claim_of(volume)
        if volume.metadata.HasField("deletion_timestamp"):
            changed = False
            if storage.VOLUME_PROTECTION_FINALIZER in finalizers and claim is None:
                finalizers.remove(storage.VOLUME_PROTECTION_FINALIZER)
                changed = True
            if storage.VOLUME_DATA_FINALIZER in finalizers and self._remove_data(volume):
                finalizers.remove(storage.VOLUME_DATA_FINALIZER)
                changed = True
            if changed:
                await self.api.update(volume)
            return
        if storage.VOLUME_PROTECTION_FINALIZER not in finalizers:
            finalizers.append(storage.VOLUME_PROTECTION_FINALIZER)
            await self.api.update(volume)
            return
        ref = volume.spec.claim_ref
        if not ref.uid:
            await self._volume_phase(volume, storage.VOLUME_AVAILABLE, "", "")
            return
        if claim is not None:
            return  # Bound: written by _bind, in the claim's reconcile
        if volume.status.phase != storage.VOLUME_RELEASED:
            await self._volume_phase(
                volume, storage.VOLUME_RELEASED, "ClaimDeleted", f"claim {ref.namespace}/{ref.name} is gone"
            )
            await self.events.record(
                VOLUME,
                volume,
                NORMAL,
                "VolumeReleased",
                f"claim {ref.namespace}/{ref.name} is gone; reclaim policy "
                f"{volume.spec.persistent_volume_reclaim_policy}",
            )
        if volume.spec.persistent_volume_reclaim_policy == storage.RECLAIM_DELETE:
            await self.api.delete(VOLUME, name, "", precondition_resource_version=volume.metadata.resource_version)
            await self.events.record(
                VOLUME, volume, NORMAL, "VolumeDeleted", "its data is removed by the node that holds it"
            )

    def _remove_data(self, volume: storage_pb2.PersistentVolume) -> bool:
        """Whether this controller disposed of a deleted volume's data: a local volume whose node is
        gone (the data went with it), a shared one in the shared dir mounted here (removed now)."""
        node = storage.volume_node(volume)
        if volume.spec.HasField("local"):
            return node is not None and self.nodes.get(node) is None
        if volume.spec.HasField("shared") and self.shared_dir is not None:
            remove_volume(volume_path(self.shared_dir, volume.spec.shared.path))
            return True
        return False

    def _claim_of(self, volume: storage_pb2.PersistentVolume) -> storage_pb2.PersistentVolumeClaim | None:
        """The existing claim this volume is bound to (same uid), or None."""
        ref = volume.spec.claim_ref
        if not ref.uid:
            return None
        claim = self.claims.get(join_key(ref.namespace, ref.name))
        return claim if claim is not None and claim.metadata.uid == ref.uid else None

    async def _volume_phase(self, volume: storage_pb2.PersistentVolume, phase: str, reason: str, message: str) -> None:
        if (volume.status.phase, volume.status.reason, volume.status.message) != (phase, reason, message):
            volume.status.phase, volume.status.reason, volume.status.message = phase, reason, message
            await self.api.update_status(volume)

    def _export_phases(self) -> None:
        """Claims and volumes by phase, counted from the caches when Prometheus scrapes."""
        for phase in storage.CLAIM_PHASES:
            metrics.VOLUME_CLAIMS.labels(phase).set_function(self._claims_in(phase))
        for phase in storage.VOLUME_PHASES:
            metrics.VOLUMES.labels(phase).set_function(self._volumes_in(phase))
        metrics.VOLUME_CLAIM_OLDEST_PENDING.set_function(self._oldest_pending)

    def _claims_in(self, phase: str) -> Callable[[], float]:
        return lambda: sum((c.status.phase or storage.CLAIM_PENDING) == phase for c in self.claims.list())

    def _oldest_pending(self) -> float:
        created = [
            c.metadata.creation_timestamp.ToNanoseconds() / 1e9
            for c in self.claims.list()
            if (c.status.phase or storage.CLAIM_PENDING) == storage.CLAIM_PENDING
        ]
        return max(0.0, self.clock.now() - min(created)) if created else 0.0

    def _volumes_in(self, phase: str) -> Callable[[], float]:
        return lambda: sum((v.status.phase or storage.VOLUME_AVAILABLE) == phase for v in self.volumes.list())
